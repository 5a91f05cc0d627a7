//go:build linux

package plugins

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The fallback containment, where no cgroup can be made: the agent becomes
// a child subreaper, so whatever a plugin leaves behind is reparented to
// the agent instead of init, and each run is found again by a scan of
// /proc (a sweep) that kills what it can attribute to the run and reaps
// the agent's orphaned children.

// markerVar marks every process of a run in the fallback: its value, one
// per run, is inherited by all the plugin starts unless one of them wipes
// its environment.
const markerVar = "PICKET_RUN"

// runRecord is one run as sweeps see it.
type runRecord struct {
	// marker is the run's value of markerVar; "" when a cgroup holds it.
	marker string
	// pid is the plugin's, the leader of the run's process group.
	pid int
	// start is the plugin's start time (clock ticks since boot): nothing
	// of the run started before it.
	start uint64
}

// reg is what this process has started and is running. It is
// process-wide because what it guards is: being a subreaper is a property
// of the process, and so are the children a sweep may reap, whichever
// Runner started them.
var reg = struct {
	// starting is held for reading while a plugin is started and
	// registered, and for writing by a sweep, so a sweep never sees a
	// child of ours it cannot tell from an orphan.
	starting sync.RWMutex

	mu sync.Mutex
	// plugins are the pids of plugins started and not yet waited for:
	// os/exec waits for them, and reaping one would steal its status.
	plugins map[int]struct{}
	// runs are those started and not yet over.
	runs map[*runRecord]struct{}
}{plugins: map[int]struct{}{}, runs: map[*runRecord]struct{}{}}

// registered records a plugin just started; the caller holds
// reg.starting for reading.
func registered(run *runRecord, pid int) {
	run.pid = pid
	// Only the subreaper's sweeps read the start time: a runner in
	// cgroups saves a read of /proc per run.
	if subreaper.on.Load() {
		run.start = startTime(pid)
	}
	reg.mu.Lock()
	reg.plugins[pid] = struct{}{}
	reg.runs[run] = struct{}{}
	reg.mu.Unlock()
}

// startTime is pid's start time, or 0 if its stat cannot be read: it
// cannot be gone, as nothing has waited for it yet, and start 0 makes the
// run claim more orphans later, never fewer.
func startTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	p, err := parseStat(b)
	if err != nil {
		return 0
	}
	return p.start
}

// waited forgets a plugin once exec.Cmd.Wait has reaped it.
func waited(pid int) {
	reg.mu.Lock()
	delete(reg.plugins, pid)
	reg.mu.Unlock()
}

// over forgets a run once nothing of it is left.
func over(run *runRecord) {
	reg.mu.Lock()
	delete(reg.runs, run)
	reg.mu.Unlock()
}

var subreaper struct {
	once sync.Once
	err  error
	on   atomic.Bool
}

// enableSubreaper makes this process the child subreaper of everything it
// starts, once and for good: the kernel has no way to scope it.
func enableSubreaper() error {
	subreaper.once.Do(func() {
		subreaper.err = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		subreaper.on.Store(subreaper.err == nil)
	})
	return subreaper.err
}

// sweepUntilGone sweeps until nothing of run is left, or until deadline.
func sweepUntilGone(run *runRecord, deadline time.Time) {
	// A process being killed may lose what made it the run's (its
	// environment goes before it is a zombie), so what one sweep killed
	// the next ones follow by pid and start time.
	killed := map[int]uint64{}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		if sweep(run, killed) == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(delay)
	}
}

// sweep sends SIGKILL to every live process it attributes to run, or that
// an earlier sweep killed, reaps every orphaned child of the agent that
// has exited, and returns how many of run's processes are still there.
func sweep(run *runRecord, killed map[int]uint64) int {
	reg.starting.Lock()
	defer reg.starting.Unlock()
	c := claim{self: os.Getpid(), selfPgrp: syscall.Getpgrp(), run: *run, marker: procMarker}
	reg.mu.Lock()
	c.plugins = make(map[int]bool, len(reg.plugins))
	for pid := range reg.plugins {
		c.plugins[pid] = true
	}
	for r := range reg.runs {
		if r != run {
			c.others = append(c.others, *r)
		}
	}
	reg.mu.Unlock()

	procs := listProcs()
	victims := c.victims(procs)
	mine := make(map[int]bool, len(victims))
	for _, p := range victims {
		mine[p.pid] = true
	}
	for _, p := range procs {
		if start, ok := killed[p.pid]; ok && start == p.start && !mine[p.pid] && c.touchable(p) {
			victims = append(victims, p)
			mine[p.pid] = true
		}
	}
	left := 0
	for _, p := range victims {
		switch {
		case !p.zombie():
			if signalExact(p, syscall.SIGKILL) {
				killed[p.pid] = p.start
				left++
			}
		case p.ppid == c.self:
			if !reap(p.pid) {
				left++
			}
		case mine[p.ppid]:
			// Its parent dies too; then it is ours to reap.
			left++
		}
	}
	for _, p := range procs {
		if p.zombie() && p.ppid == c.self && c.touchable(p) && p.pgrp != c.selfPgrp && !mine[p.pid] {
			reap(p.pid)
		}
	}
	return left
}

// reap collects an exited child of the agent that os/exec does not wait
// for. It can fail for a while after the process shows as a zombie: a
// multi-threaded process does so as soon as its main thread has exited,
// but can be reaped only once all its threads have.
func reap(pid int) bool {
	var ws unix.WaitStatus
	got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	return got == pid || errors.Is(err, unix.ECHILD)
}

// claim decides which processes one run may kill.
type claim struct {
	self, selfPgrp int
	run            runRecord
	// others are the other runs not yet over.
	others []runRecord
	// plugins are the live plugins of all runs: exec.Cmd waits for them.
	plugins map[int]bool
	// marker returns the value of markerVar in a process's environment.
	marker func(pid int) (string, bool)
}

// touchable reports whether p may be killed or reaped at all.
func (c claim) touchable(p procInfo) bool {
	return p.pid > 1 && p.pid != c.self && !c.plugins[p.pid]
}

// owns reports whether p is of the run, by one of three signs:
//   - it is in the run's process group;
//   - it carries the run's marker;
//   - it is an orphan that no other running run can have started: a
//     child of the agent that the agent did not start (not a registered
//     plugin), outside the agent's own process group, and started before
//     every other run still going. A process that both wiped its
//     environment and lost its parent is known by this alone, so while
//     runs overlap it lives on until the last of those that could have
//     started it ends.
//
// Descendants of what a run owns are the run's too (see victims).
func (c claim) owns(p procInfo) bool {
	if c.run.pid != 0 && p.pgrp == c.run.pid {
		return true
	}
	if p.zombie() {
		// Nothing to kill, and no environment left to read: its
		// parent's sweep reaps it.
		return false
	}
	if c.run.marker != "" && p.start >= c.run.start {
		if m, ok := c.marker(p.pid); ok && m == c.run.marker {
			return true
		}
	}
	if p.ppid != c.self || p.pgrp == c.selfPgrp {
		return false
	}
	for _, o := range c.others {
		if o.start <= p.start {
			return false
		}
	}
	return true
}

// victims lists the processes of procs that the run owns, and all their
// descendants.
func (c claim) victims(procs []procInfo) []procInfo {
	kids := map[int][]procInfo{}
	for _, p := range procs {
		kids[p.ppid] = append(kids[p.ppid], p)
	}
	var out []procInfo
	seen := map[int]bool{}
	for _, p := range procs {
		if seen[p.pid] || !c.touchable(p) || !c.owns(p) {
			continue
		}
		for queue := []procInfo{p}; len(queue) > 0; queue = queue[1:] {
			q := queue[0]
			if seen[q.pid] || !c.touchable(q) {
				continue
			}
			seen[q.pid] = true
			out = append(out, q)
			queue = append(queue, kids[q.pid]...)
		}
	}
	return out
}

// listProcs reads every process's stat; those gone meanwhile are left
// out.
func listProcs() []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	procs := make([]procInfo, 0, len(entries))
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if p, err := parseStat(b); err == nil {
			procs = append(procs, p)
		}
	}
	return procs
}

// procMarker reads markerVar from a process's environment, as it was when
// the process started. It fails for a process of another user (or a
// setuid one) unless the agent is root.
func procMarker(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return "", false
	}
	return envValue(b, markerVar)
}

// signalExact signals p only if it is still the process that was listed:
// a pid is pinned by a pidfd, then its start time compared.
func signalExact(p procInfo, sig syscall.Signal) bool {
	fd, err := unix.PidfdOpen(p.pid, 0)
	if errors.Is(err, unix.ENOSYS) {
		// Before Linux 5.3: reuse of the pid within this moment would
		// need the whole pid space to wrap.
		return syscall.Kill(p.pid, sig) == nil
	}
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/stat")
	if err != nil {
		return false
	}
	if now, err := parseStat(b); err != nil || now.start != p.start {
		return false
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
}
