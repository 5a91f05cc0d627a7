package spool

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

const lockFile = "lock"

// lockedErr names the holder when the lock file says who it is; the pid
// is advice for the operator, never used to decide anything.
func lockedErr(dir string, f *os.File) error {
	b, _ := io.ReadAll(io.LimitReader(f, 32))
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		return fmt.Errorf("open spool %s: held by pid %d: %w", dir, pid, ErrLocked)
	}
	return fmt.Errorf("open spool %s: %w", dir, ErrLocked)
}
