package autoreg

import (
	"strings"

	"golang.org/x/sys/windows/registry"
)

// osVersion reads the product name and release from the registry, e.g.
// "Windows Server 2022 Datacenter 21H2 (build 20348)".
func osVersion() string {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion`, registry.QUERY_VALUE)
	if err != nil {
		return ""
	}
	defer k.Close()
	str := func(name string) string {
		v, _, err := k.GetStringValue(name)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(v)
	}
	parts := []string{str("ProductName")}
	// DisplayVersion exists from 20H2 on; ReleaseId before it.
	if v := str("DisplayVersion"); v != "" {
		parts = append(parts, v)
	} else if v := str("ReleaseId"); v != "" {
		parts = append(parts, v)
	}
	if b := str("CurrentBuild"); b != "" {
		parts = append(parts, "(build "+b+")")
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}
