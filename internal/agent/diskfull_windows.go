package agent

import (
	"errors"

	"golang.org/x/sys/windows"
)

// diskFull reports whether err says the disk (or the user's quota) has no
// room left.
func diskFull(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) ||
		errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED)
}
