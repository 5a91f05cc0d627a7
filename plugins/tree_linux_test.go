//go:build linux

package plugins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// procStat reads the state and process group of pid from /proc; ok is
// false when there is no such process.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// Fields after the command name, which may hold spaces: state ppid pgrp.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	pgrp, _ = strconv.Atoi(f[2])
	return f[0][0], pgrp, true
}

// alive reports whether pid runs. A zombie does not: an orphaned
// grandchild is reaped by init, which is not ours to wait for.
func alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// groupMembers lists the live processes of process group pgid.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, pgrp, ok := procStat(pid); ok && pgrp == pgid && state != 'Z' && state != 'X' {
			pids = append(pids, pid)
		}
	}
	return pids
}

// readPids reads the "PARENT CHILD" pids fake_grandchild wrote.
func readPids(t *testing.T, pidfile string) (parent, child int) {
	t.Helper()
	b, err := os.ReadFile(pidfile)
	if err != nil {
		// Also what a machine too loaded to start the fake before the
		// timeout looks like: raise the test's timeout then.
		t.Fatalf("fake_grandchild wrote no pids: %v", err)
	}
	if _, err := fmt.Sscan(string(b), &parent, &child); err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return parent, child
}

// assertTreeGone checks what Run promises: the plugin reaped (not even a
// zombie left), nothing of its group alive.
func assertTreeGone(t *testing.T, pidfile string) {
	t.Helper()
	parent, child := readPids(t, pidfile)
	if _, _, ok := procStat(parent); ok {
		t.Errorf("plugin %d still exists after Run: not reaped", parent)
	}
	if alive(child) {
		t.Errorf("grandchild %d still alive after Run", child)
	}
	if m := groupMembers(t, parent); len(m) > 0 {
		t.Errorf("process group %d still has live members %v", parent, m)
	}
	if err := syscall.Kill(-parent, 0); err == nil {
		// Only zombies may remain, waiting for init.
		for _, pid := range []int{parent, child} {
			if alive(pid) {
				t.Errorf("kill(-%d, 0) succeeded and %d is alive", parent, pid)
			}
		}
	}
}

func TestTimeoutKillsWholeTree(t *testing.T) {
	dir := pluginDir(t, "fake_grandchild", "fake_sleeper")
	const timeout, grace = time.Second, 300 * time.Millisecond
	for _, tt := range []struct{ name, flags string }{
		{"tree stops on SIGTERM", ""},
		{"tree ignores SIGTERM and gets SIGKILL", " -ignore-term"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRunner(Config{Dirs: []string{dir}, KillGrace: grace})
			pidfile := filepath.Join(t.TempDir(), "pids")
			c := check.Check{Command: "fake_grandchild hang " + pidfile + tt.flags, Timeout: timeout, TimeoutState: check.Critical}
			res := runGuarded(t, context.Background(), r, c, timeout+grace+5*time.Second)
			if res.State != check.Critical || res.Output != "check timed out after 1s" || res.ExitCode != -1 {
				t.Errorf("got %v %q exit %d", res.State, res.Output, res.ExitCode)
			}
			assertTreeGone(t, pidfile)
		})
	}
}

// TestLeftoverChildHoldingPipe: the plugin answers and exits, but a child
// it left behind keeps stdout open. The run ends at the timeout with the
// plugin's own answer, and the leftover is killed.
func TestLeftoverChildHoldingPipe(t *testing.T) {
	dir := pluginDir(t, "fake_grandchild", "fake_sleeper")
	const timeout = time.Second
	r := NewRunner(Config{Dirs: []string{dir}, KillGrace: time.Hour})
	pidfile := filepath.Join(t.TempDir(), "pids")
	c := check.Check{Command: "fake_grandchild exit " + pidfile + " -ignore-term", Timeout: timeout, TimeoutState: check.Critical}
	res := runGuarded(t, context.Background(), r, c, timeout+5*time.Second)
	if res.State != check.OK || res.Output != "OK parent done" || res.ExitCode != 0 || len(res.Perfdata) != 1 {
		t.Errorf("got %v %q exit %d perf %v", res.State, res.Output, res.ExitCode, res.Perfdata)
	}
	assertTreeGone(t, pidfile)
}

// TestEscapedChildHoldingPipe: a child that left the process group (as a
// daemon does with setsid) is out of reach of the group's signals, but not
// of the run's containment: it does not hold the run past timeout and
// grace, and it is dead when Run returns.
func TestEscapedChildHoldingPipe(t *testing.T) {
	dir := pluginDir(t, "fake_grandchild", "fake_sleeper")
	const timeout, grace = time.Second, 300 * time.Millisecond
	r := NewRunner(Config{Dirs: []string{dir}, KillGrace: grace})
	for _, mode := range []string{"exit", "hang"} {
		pidfile := filepath.Join(t.TempDir(), "pids")
		c := check.Check{Command: "fake_grandchild " + mode + " " + pidfile + " -setsid", Timeout: timeout, TimeoutState: check.Warning}
		res := runGuarded(t, context.Background(), r, c, timeout+grace+5*time.Second)
		parent, child := readPids(t, pidfile)
		t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
		want := map[string]string{"exit": "OK parent done", "hang": "check timed out after 1s"}[mode]
		if res.Output != want {
			t.Errorf("%s: got %v %q", mode, res.State, res.Output)
		}
		if _, _, ok := procStat(parent); ok {
			t.Errorf("%s: plugin %d not reaped", mode, parent)
		}
		if alive(child) {
			t.Errorf("%s: child %d in its own session still alive after Run (containment: %s)", mode, child, r.Containment())
		}
	}
}

func TestInterruptKillsWholeTree(t *testing.T) {
	dir := pluginDir(t, "fake_grandchild", "fake_sleeper")
	r := NewRunner(Config{Dirs: []string{dir}, KillGrace: 200 * time.Millisecond})
	pidfile := filepath.Join(t.TempDir(), "pids")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	c := check.Check{Command: "fake_grandchild hang " + pidfile + " -ignore-term", Timeout: time.Hour}
	done := make(chan check.Result, 1)
	go func() { done <- r.Run(ctx, c) }()
	waitForFile(t, pidfile)
	cancel(fmt.Errorf("agent stopping"))
	select {
	case res := <-done:
		if res.State != check.Unknown || !strings.HasSuffix(res.Output, ": agent stopping") {
			t.Errorf("got %v %q", res.State, res.Output)
		}
	case <-time.After(guard):
		t.Fatal("Run did not end after cancel")
	}
	assertTreeGone(t, pidfile)
}
