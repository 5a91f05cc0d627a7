//go:build !windows

package setup

import "os"

func restrict(f *os.File) error { return f.Chmod(0o600) }

func makePrivateDir(dir string) error { return os.MkdirAll(dir, 0o750) }

// ServiceRecovery does nothing outside Windows: systemd's unit and the
// SysV script decide restarts there.
func ServiceRecovery(string) (warnings []string, err error) { return nil, nil }
