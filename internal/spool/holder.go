package spool

import (
	"io"
	"os"
	"strconv"
	"strings"
)

// Holder reports whether a writer (a running agent) holds dir's lock, and
// the pid it wrote into the lock file (0 if unreadable), for `picket
// doctor`. It creates nothing and writes nothing: without a lock file no
// writer has ever opened the spool. To learn whether the lock is held it
// takes a shared lock for a moment, so a writer opening the spool in that
// very moment fails as it would beside another writer; an agent's start is
// retried by its service manager.
func Holder(dir string) (pid int, held bool, err error) {
	return holder(dir)
}

func lockPid(f *os.File) int {
	b, _ := io.ReadAll(io.LimitReader(f, 32))
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
