package setup

import (
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// Full control for SYSTEM and Administrators only, not inherited from
// ProgramData (which lets every user read). Folders pass it on to what is
// created in them.
const (
	fileSDDL = "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
	dirSDDL  = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
)

func protect(path, sddl string) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
}

func restrict(f *os.File) error { return protect(f.Name(), fileSDDL) }

func makePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return protect(dir, dirSDDL)
}

// ServiceRecovery makes the service control manager restart the named
// service after 5 s, 30 s and then every 60 s when it fails, forgetting
// failures after a day, and registers its Event Log source. It fails only
// when the service cannot be opened. A setting the service manager refuses
// (some refuse SERVICE_CONFIG_FAILURE_ACTIONS_FLAG) is a warning naming
// what was not set: the service runs without it, and an installer must not
// roll back a working service for it.
func ServiceRecovery(name string) (warnings []string, err error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("service control manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", name, err)
	}
	defer s.Close()
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	}
	if err := s.SetRecoveryActions(actions, uint32((24 * time.Hour).Seconds())); err != nil {
		warnings = append(warnings, fmt.Sprintf("service %s: recovery actions (restart after 5s, 30s, 60s) not set: %v", name, err))
	}
	// A failed start (exit code other than 0) counts as a failure too.
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		warnings = append(warnings, fmt.Sprintf("service %s: restart after a failure exit (SERVICE_CONFIG_FAILURE_ACTIONS_FLAG) not set: %v", name, err))
	}
	err = eventlog.InstallAsEventCreate(name, eventlog.Error|eventlog.Warning|eventlog.Info)
	if err != nil && !strings.Contains(err.Error(), "exists") {
		warnings = append(warnings, fmt.Sprintf("event log source %s not registered: %v", name, err))
	}
	return warnings, nil
}
