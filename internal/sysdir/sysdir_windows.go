package sysdir

import (
	"os"

	"golang.org/x/sys/windows"
)

// ProgramData is the folder for machine-wide program data, normally
// C:\ProgramData: the known folder the MSI's CommonAppDataFolder is too.
// %ProgramData% differs from it for a service in some environments, so it
// is only a fallback for a system that cannot answer.
func ProgramData() string {
	if p, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, windows.KF_FLAG_DEFAULT); err == nil && p != "" {
		return p
	}
	if v := os.Getenv("ProgramData"); v != "" {
		return v
	}
	return `C:\ProgramData`
}
