//go:build windows

package autoreg

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock locks one byte with LockFileEx, which Windows releases when the
// handle is closed or the process ends.
func tryLock(f *os.File) error {
	ol := &windows.Overlapped{}
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return errLockBusy
	}
	return err
}
