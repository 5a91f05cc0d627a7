package builtin

import (
	"fmt"
	"strings"
)

// parseSystemctlShow reads `systemctl show --property=...` output
// (KEY=value lines) into a status. systemd answers for any name, loaded or
// not: LoadState not-found means there is no such unit.
func parseSystemctlShow(name, out string) (ServiceStatus, error) {
	props := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			props[k] = v
		}
	}
	if props["LoadState"] == "" || props["ActiveState"] == "" {
		return ServiceStatus{}, fmt.Errorf("systemctl show %s: no LoadState or ActiveState in %q", name, out)
	}
	if props["LoadState"] == "not-found" {
		return ServiceStatus{}, fmt.Errorf("unit %s: %w", name, ErrNoService)
	}
	s := ServiceStatus{Name: name, Detail: props["SubState"], StartType: props["UnitFileState"]}
	switch props["ActiveState"] {
	case "active", "reloading", "refreshing":
		s.State = ServiceRunning
	case "activating":
		s.State = ServiceStarting
	case "deactivating":
		s.State = ServiceStopping
	case "failed":
		s.State = ServiceFailed
	default: // inactive, maintenance
		s.State = ServiceStopped
	}
	if props["LoadState"] == "masked" {
		s.StartType = "masked"
	}
	return s, nil
}
