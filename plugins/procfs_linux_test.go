//go:build linux

package plugins

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// statLine builds a /proc/PID/stat line around a command name.
func statLine(pid, name, state, ppid, pgrp, start string) string {
	// state ppid pgrp session tty tpgid flags minflt cminflt majflt
	// cmajflt utime stime cutime cstime priority nice threads itreal
	// starttime vsize ...
	return pid + " (" + name + ") " + state + " " + ppid + " " + pgrp +
		" 7 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 " + start + " 1234567 89 18446744073709551615\n"
}

func TestParseStat(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want procInfo
		bad  bool
	}{
		{"plain", statLine("42", "sleep", "S", "1", "42", "987654"), procInfo{pid: 42, ppid: 1, pgrp: 42, state: 'S', start: 987654}, false},
		{"zombie", statLine("7", "sh", "Z", "3", "5", "10"), procInfo{pid: 7, ppid: 3, pgrp: 5, state: 'Z', start: 10}, false},
		{"name with spaces and parens", statLine("9", "a) b (c) Z 1 2", "R", "8", "9", "11"), procInfo{pid: 9, ppid: 8, pgrp: 9, state: 'R', start: 11}, false},
		{"empty name", statLine("9", "", "S", "8", "9", "11"), procInfo{pid: 9, ppid: 8, pgrp: 9, state: 'S', start: 11}, false},
		{"no name", "42 S 1 42", procInfo{}, true},
		{"truncated", "42 (x) S 1 42 7 0\n", procInfo{}, true},
		{"bad pid", statLine("x", "sh", "S", "1", "1", "1"), procInfo{}, true},
		{"bad start", statLine("4", "sh", "S", "1", "1", "-5"), procInfo{}, true},
		{"two-letter state", statLine("4", "sh", "SS", "1", "1", "5"), procInfo{}, true},
		{"empty", "", procInfo{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if (err != nil) != tt.bad || got != tt.want {
				t.Errorf("parseStat(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
}

// TestParseStatSelf reads a real stat: ours.
func TestParseStatSelf(t *testing.T) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseStat(b)
	if err != nil || p.pid != os.Getpid() || p.ppid != os.Getppid() || p.start == 0 || p.zombie() {
		t.Errorf("parseStat(own stat) = %+v, %v", p, err)
	}
}

func TestUnifiedCgroup(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"0::/\n", "/", true},
		{"0::/system.slice/picket.service\n", "/system.slice/picket.service", true},
		{"12:pids:/x\n1:name=systemd:/user.slice\n0::/user.slice/user-1000.slice/session-2.scope\n", "/user.slice/user-1000.slice/session-2.scope", true},
		{"0::/with space/x", "/with space/x", true},
		{"12:pids:/x\n1:cpu:/\n", "", false},
		{"0::/../../elsewhere\n", "", false},
		{"0::/gone (deleted)\n", "", false},
		{"0::relative\n", "", false},
		{"", "", false},
	} {
		got, ok := unifiedCgroup([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("unifiedCgroup(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// hybridMountinfo is the cgroup part of this machine's mountinfo: v1
// controllers, and v2 at /sys/fs/cgroup/unified.
const hybridMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

func TestCgroupDir(t *testing.T) {
	for _, tt := range []struct {
		name, mountinfo, path, want string
	}{
		{"hybrid", hybridMountinfo, "/", "/sys/fs/cgroup/unified"},
		{"hybrid nested", hybridMountinfo, "/a/b", "/sys/fs/cgroup/unified/a/b"},
		{"unified", "25 20 0:22 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
			"/system.slice/picket.service", "/sys/fs/cgroup/system.slice/picket.service"},
		{"unified first of two", "60 1 0:22 / /mnt/cg rw - cgroup2 cgroup2 rw\n25 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"/x", "/sys/fs/cgroup/x"},
		{"container without cgroupns", "99 80 0:22 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
			"/docker/abc/sub", "/sys/fs/cgroup/sub"},
		{"container root itself", "99 80 0:22 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
			"/docker/abc", "/sys/fs/cgroup"},
		{"escaped mount point", `41 31 0:38 / /mnt/c\040g rw - cgroup2 cgroup2 rw` + "\n", "/x", "/mnt/c g/x"},
		{"outside the mount's root", "99 80 0:22 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n", "/docker/abcd", ""},
		{"no cgroup2 mount", "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", "/", ""},
		{"mountinfo line without separator", "41 31 0:38 / /sys/fs/cgroup/unified rw cgroup2 cgroup2 rw\n", "/", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cgroupDir(tt.path, cgroup2Mounts([]byte(tt.mountinfo)))
			if got != tt.want || (err != nil) != (tt.want == "") {
				t.Errorf("cgroupDir(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
		})
	}
}

func TestPopulated(t *testing.T) {
	for _, tt := range []struct {
		in       string
		want, ok bool
	}{
		{"populated 0\nfrozen 0\n", false, true},
		{"populated 1\nfrozen 0\n", true, true},
		{"frozen 0\npopulated 1", true, true},
		{"populated 2\n", false, false},
		{"frozen 0\n", false, false},
		{"", false, false},
	} {
		got, err := populated([]byte(tt.in))
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("populated(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestEnvValue(t *testing.T) {
	env := "A=1\x00PICKET_RUN=abc\x00PICKET_RUNX=no\x00PICKET_RUN=second\x00B=\x00"
	for _, tt := range []struct {
		env, key, want string
		ok             bool
	}{
		{env, "PICKET_RUN", "abc", true},
		{env, "B", "", true},
		{env, "A", "1", true},
		{env, "C", "", false},
		{"XPICKET_RUN=a\x00", "PICKET_RUN", "", false},
		{"", "PICKET_RUN", "", false},
	} {
		got, ok := envValue([]byte(tt.env), tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("envValue(%q, %q) = %q, %v", tt.env, tt.key, got, ok)
		}
	}
}

// FuzzParseStat: whatever the command name holds, the fields around it
// come back as written; and no input makes the parser panic.
func FuzzParseStat(f *testing.F) {
	f.Add("a) (b", 42, 1, 42, uint64(5), []byte("1 () Z 0 0"))
	f.Add("x\n) R 1 2 3", 7, 0, 0, uint64(0), []byte(")("))
	f.Fuzz(func(t *testing.T, name string, pid, ppid, pgrp int, start uint64, raw []byte) {
		_, _ = parseStat(raw)
		pid, ppid, pgrp = max(pid, 0), max(ppid, 0), max(pgrp, 0)
		line := statLine(strconv.Itoa(pid), name, "S", strconv.Itoa(ppid), strconv.Itoa(pgrp), strconv.FormatUint(start, 10))
		want := procInfo{pid: pid, ppid: ppid, pgrp: pgrp, state: 'S', start: start}
		if got, err := parseStat([]byte(line)); err != nil || got != want {
			t.Fatalf("parseStat(%q) = %+v, %v; want %+v", line, got, err, want)
		}
	})
}

// FuzzCgroupFiles: no input makes the cgroup parsers panic, a cgroup path
// found is absolute and inside the namespace, and a directory found is
// inside the mount it was found in.
func FuzzCgroupFiles(f *testing.F) {
	f.Add(hybridMountinfo, "0::/a\n", "populated 1\n")
	f.Add(`1 2 3:4 /r\04 /p\0 - cgroup2 x y`, "0::", "populated")
	f.Fuzz(func(t *testing.T, mountinfo, cgroup, events string) {
		_, _ = populated([]byte(events))
		path, ok := unifiedCgroup([]byte(cgroup))
		if !ok {
			return
		}
		if !strings.HasPrefix(path, "/") || strings.Contains(path, "/..") {
			t.Fatalf("unifiedCgroup(%q) = %q", cgroup, path)
		}
		ms := cgroup2Mounts([]byte(mountinfo))
		dir, err := cgroupDir(path, ms)
		if err != nil {
			return
		}
		for _, m := range ms {
			if c := filepath.Clean(m.point); dir == c || strings.HasPrefix(dir, strings.TrimSuffix(c, "/")+"/") {
				return
			}
		}
		t.Fatalf("cgroupDir(%q, %+v) = %q, in none of the mounts", path, ms, dir)
	})
}
