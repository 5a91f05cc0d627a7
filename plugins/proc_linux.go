//go:build linux

package plugins

import (
	"bytes"
	"os"
	"strconv"
)

// groupAlive reports whether process group pgid has a member that is not a
// zombie. Zombies count as gone: once orphaned they are init's to reap, and
// in a container init may never do it.
func groupAlive(pgid int) bool {
	if !groupExists(pgid) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// After the command name, which may hold anything: state ppid pgrp.
		f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
		if len(f) < 3 {
			continue
		}
		if g, _ := strconv.Atoi(string(f[2])); g == pgid && pid > 0 && f[0][0] != 'Z' && f[0][0] != 'X' {
			return true
		}
	}
	return false
}
