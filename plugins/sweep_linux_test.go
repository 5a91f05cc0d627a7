//go:build linux

package plugins

import (
	"slices"
	"testing"
)

// TestClaimVictims: which processes one run's sweep may kill, on a made-up
// process table. The agent is 100 (its own group 100); this run's plugin
// 200 has exited and been reaped (its start: tick 1000); another run goes
// on, started at tick 1500, its plugin 300 still running.
func TestClaimVictims(t *testing.T) {
	p := func(pid, ppid, pgrp int, state byte, start uint64) procInfo {
		return procInfo{pid: pid, ppid: ppid, pgrp: pgrp, state: state, start: start}
	}
	procs := []procInfo{
		p(1, 0, 1, 'S', 0),          // init
		p(100, 1, 100, 'S', 500),    // the agent
		p(201, 100, 200, 'S', 1010), // the plugin's child, reparented, still in the run's group
		p(202, 201, 202, 'S', 1020), // its child, in a session of its own, no marker
		p(210, 201, 200, 'Z', 1030), // a dead child of 201, in the group
		p(203, 100, 203, 'S', 1100), // a daemon of the run, with its marker
		p(209, 50, 209, 'S', 1100),  // a process with the run's marker under some other parent
		p(204, 100, 204, 'S', 1200), // an orphan without marker, started before the other run
		p(212, 204, 204, 'S', 1300), // its child
		p(213, 100, 213, 'S', 800),  // an orphan of a run that is over
		p(205, 100, 205, 'S', 1600), // an orphan without marker, the other run may have started it
		p(206, 100, 206, 'S', 1700), // an orphan with the other run's marker
		p(211, 100, 211, 'Z', 1250), // a dead orphan: reaped, not killed
		p(207, 100, 100, 'S', 1400), // a child of the agent in its own group: not a plugin's
		p(208, 1, 208, 'S', 900),    // carries the run's marker but is older than the run
		p(300, 100, 300, 'S', 1500), // the other run's plugin
		p(301, 300, 300, 'S', 1510), // its child
		p(400, 1, 400, 'S', 2000),   // someone else's process
	}
	markers := map[int]string{203: "m1", 209: "m1", 206: "m2", 208: "m1", 301: "m2", 300: "m2"}
	marker := func(pid int) (string, bool) { m, ok := markers[pid]; return m, ok }
	other := runRecord{marker: "m2", pid: 300, start: 1500}

	for _, tt := range []struct {
		name string
		run  runRecord
		want []int
	}{
		{"fallback run", runRecord{marker: "m1", pid: 200, start: 1000}, []int{201, 202, 203, 204, 209, 210, 212, 213}},
		// A cgroup's run has no marker: its sweep only finds orphans,
		// and the group.
		{"cgroup run", runRecord{pid: 200, start: 1000}, []int{201, 202, 203, 204, 210, 212, 213}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := claim{self: 100, selfPgrp: 100, run: tt.run, others: []runRecord{other}, plugins: map[int]bool{300: true}, marker: marker}
			var got []int
			for _, v := range c.victims(procs) {
				got = append(got, v.pid)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("victims = %v, want %v", got, tt.want)
			}
		})
	}

	// Once no other run is going, orphans have nobody else to end them.
	// A registered plugin is still spared: os/exec waits for it.
	c := claim{self: 100, selfPgrp: 100, run: runRecord{marker: "m1", pid: 200, start: 1000}, plugins: map[int]bool{300: true}, marker: marker}
	var got []int
	for _, v := range c.victims(procs) {
		got = append(got, v.pid)
	}
	slices.Sort(got)
	if want := []int{201, 202, 203, 204, 205, 206, 209, 210, 212, 213}; !slices.Equal(got, want) {
		t.Errorf("with no other run: victims = %v, want %v", got, want)
	}
}
