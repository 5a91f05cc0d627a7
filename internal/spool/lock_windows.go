//go:build windows

package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/windows"
)

// lockOffset is where the locked byte lives. Windows byte-range locks are
// mandatory, so the lock sits far past the pid text, which stays readable
// for the error message of the next would-be writer.
const lockOffset = 1 << 32

// lockDir takes the writer's lock with LockFileEx, which Windows releases
// when the handle is closed or the process ends.
func lockDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	ol := &windows.Overlapped{Offset: lockOffset & 0xffffffff, OffsetHigh: lockOffset >> 32}
	err = windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		defer f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, lockedErr(dir, f)
		}
		return nil, fmt.Errorf("open spool %s: lock %s: %w", dir, path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\r\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open spool %s: write %s: %w", dir, path, err)
	}
	return f.Close, nil
}
