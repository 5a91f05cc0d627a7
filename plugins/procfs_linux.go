//go:build linux

package plugins

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The parsers of what containment reads from /proc and the cgroup file
// system. They are pure, so they are table- and fuzz-tested apart from the
// files.

// procInfo is what containment needs of one process, from /proc/PID/stat.
type procInfo struct {
	pid, ppid, pgrp int
	state           byte
	// start is when the process was forked, in clock ticks since boot:
	// together with the pid it names one process for good, and a process
	// always starts after its ancestors.
	start uint64
}

// zombie reports whether p has exited and only waits to be reaped.
func (p procInfo) zombie() bool { return p.state == 'Z' || p.state == 'X' }

// parseStat reads /proc/PID/stat. The command name, in parentheses, may
// hold anything, spaces and parentheses included, so the fields are
// counted from its last ')'.
func parseStat(b []byte) (procInfo, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return procInfo{}, errors.New("stat: no command name")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return procInfo{}, fmt.Errorf("stat: pid: %w", err)
	}
	// After the name: state(3) ppid(4) pgrp(5) ... starttime(22).
	f := bytes.Fields(b[end+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return procInfo{}, fmt.Errorf("stat: %d fields after the name, want 20 or more", len(f))
	}
	p := procInfo{pid: pid, state: f[0][0]}
	if p.ppid, err = strconv.Atoi(string(f[1])); err != nil {
		return procInfo{}, fmt.Errorf("stat: ppid: %w", err)
	}
	if p.pgrp, err = strconv.Atoi(string(f[2])); err != nil {
		return procInfo{}, fmt.Errorf("stat: pgrp: %w", err)
	}
	if p.start, err = strconv.ParseUint(string(f[19]), 10, 64); err != nil {
		return procInfo{}, fmt.Errorf("stat: starttime: %w", err)
	}
	return p, nil
}

// unifiedCgroup finds the cgroup v2 line ("0::/path") of /proc/PID/cgroup.
func unifiedCgroup(b []byte) (string, bool) {
	for line := range strings.Lines(string(b)) {
		path, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "0::")
		// A path outside our cgroup namespace shows as "/../..."; one
		// whose cgroup was removed ends in " (deleted)".
		if ok && strings.HasPrefix(path, "/") && !strings.Contains(path, "/..") && !strings.HasSuffix(path, " (deleted)") {
			return path, true
		}
	}
	return "", false
}

// mount is one mounted cgroup v2 hierarchy: the directory it is mounted
// on, and which of its cgroups appears there.
type mount struct{ root, point string }

// cgroup2Mounts lists the cgroup2 mounts of /proc/PID/mountinfo, whose
// lines read "id parent major:minor root point options [tags] - fstype
// source superoptions".
func cgroup2Mounts(b []byte) []mount {
	var ms []mount
	for line := range strings.Lines(string(b)) {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 1 || g[0] != "cgroup2" {
			continue
		}
		m := mount{root: unescapeMount(f[3]), point: unescapeMount(f[4])}
		if strings.HasPrefix(m.root, "/") && strings.HasPrefix(m.point, "/") {
			ms = append(ms, m)
		}
	}
	return ms
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// populated reads the "populated" key of a cgroup.events file: whether the
// cgroup or one below it still holds a live process.
func populated(b []byte) (bool, error) {
	for line := range strings.Lines(string(b)) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "populated ")
		if !ok {
			continue
		}
		switch v {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return false, fmt.Errorf("cgroup.events: populated %q", v)
	}
	return false, errors.New("cgroup.events: no populated key")
}

// envValue finds key's value in a NUL-separated environment, as
// /proc/PID/environ holds it. Of duplicates the first counts, the one
// getenv returns.
func envValue(environ []byte, key string) (string, bool) {
	for kv := range bytes.SplitSeq(environ, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte(key+"=")); ok {
			return string(v), true
		}
	}
	return "", false
}
