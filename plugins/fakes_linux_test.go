//go:build linux

package plugins

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func init() {
	fakes["fake_daemon"] = fakeDaemon
	fakes["fake_daemon_mid"] = fakeDaemonMid
}

// fakeDaemon starts N daemons the classic way, each by a double fork: a
// middle process starts a sleeper that calls setsid, and exits at once,
// so the sleeper is orphaned in a session of its own. Then it writes what
// it saw to PIDFILE, prints its answer, and exits or hangs:
//
//	fake_daemon exit|hang PIDFILE TOKEN N [-scrub]
//
// Every sleeper carries -token=TOKEN in its argv, for the test to find
// it. With -scrub the sleepers start with an empty environment (env -i).
//
// PIDFILE, written at once by rename, holds "plugin PID CGROUP", then
// "sleeper PID PPID CGROUP" per sleeper as seen after its middle process
// exited, and last "done UNIXNANO", the moment the plugin was about to
// exit or hang.
func fakeDaemon(args []string) int {
	mode, pidfile, token := args[0], args[1], args[2]
	n, err := strconv.Atoi(args[3])
	if err != nil {
		return 3
	}
	midArgs := []string{"fake_daemon_mid", "-token=" + token}
	if slices.Contains(args, "-scrub") {
		midArgs = append(midArgs, "-scrub")
	}
	pids := make([]int, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for range min(n, 4) {
		wg.Go(func() {
			for i := range work {
				mid := exec.Command(os.Args[0])
				mid.Args = midArgs
				out, err := mid.Output()
				if err == nil {
					pids[i], err = strconv.Atoi(strings.TrimSpace(string(out)))
				}
				if err != nil {
					errs <- fmt.Errorf("daemon %d: %w", i, err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Println("UNKNOWN -", err)
		return 3
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "plugin %d %s\n", os.Getpid(), cgroupOf(os.Getpid()))
	for _, pid := range pids {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		p, perr := parseStat(st)
		if err != nil || perr != nil {
			fmt.Println("UNKNOWN - sleeper gone:", pid)
			return 3
		}
		fmt.Fprintf(&b, "sleeper %d %d %s\n", pid, p.ppid, cgroupOf(pid))
	}
	fmt.Fprintf(&b, "done %d\n", time.Now().UnixNano())
	if os.WriteFile(pidfile+".tmp", b.Bytes(), 0o644) != nil || os.Rename(pidfile+".tmp", pidfile) != nil {
		return 3
	}
	fmt.Printf("OK %d daemons started | daemons=%d\n", n, n)
	if mode == "hang" {
		time.Sleep(time.Hour)
	}
	return 0
}

// cgroupOf returns pid's cgroup v2 path, or "-".
func cgroupOf(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if p, ok := unifiedCgroup(b); ok {
		return p
	}
	return "-"
}

// fakeDaemonMid is the middle of the double fork: it starts a fake_sleeper
// in a new session, with no inherited output, waits until it is ready,
// prints its pid and exits without waiting for it:
//
//	fake_daemon_mid -token=TOKEN [-scrub]
func fakeDaemonMid(args []string) int {
	ready, readyW, err := os.Pipe()
	if err != nil {
		return 3
	}
	// os.Args[0] is just our name here: fake_daemon set it.
	self, err := os.Executable()
	if err != nil {
		return 3
	}
	sleeper := exec.Command(self)
	sleeper.Args = []string{"fake_sleeper", args[0]}
	sleeper.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	sleeper.ExtraFiles = []*os.File{readyW}
	if slices.Contains(args, "-scrub") {
		sleeper.Env = []string{}
	}
	if err := sleeper.Start(); err != nil {
		return 3
	}
	readyW.Close()
	if _, err := ready.Read(make([]byte, 1)); err != nil {
		return 3
	}
	fmt.Println(sleeper.Process.Pid)
	return 0
}
