//go:build unix && !aix

package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

func holder(dir string) (int, bool, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("spool lock: %w", err)
	}
	defer f.Close()
	// flock works on a descriptor open for reading; a shared lock
	// conflicts with the writer's exclusive one and with nothing else.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return lockPid(f), true, nil
		}
		return 0, false, fmt.Errorf("spool lock %s: %w", path, err)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return 0, false, nil
}
