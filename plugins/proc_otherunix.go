//go:build unix && !linux

package plugins

import (
	"os/exec"
	"time"
)

// containment is the process group alone outside Linux: there is no
// cgroup, and no subreaper (FreeBSD's procctl reaper is not wired up), so
// a process that leaves the group on purpose is out of reach.
type containment struct{}

func newContainment(Config) *containment { return &containment{} }

func (*containment) describe() string { return "process group" }

// box holds nothing beyond the group outside Linux.
type box struct{}

func (*containment) newBox(*exec.Cmd) (*box, error) { return &box{}, nil }

func (*box) start(cmd *exec.Cmd) error { return cmd.Start() }

func (*box) wait(cmd *exec.Cmd) error { return cmd.Wait() }

func (*box) kill(time.Time) {}

func (*box) release() {}

// groupAlive reports whether process group pgid still has members. Outside
// Linux there is no cheap way to tell zombies apart, but there init reaps
// orphans promptly.
func groupAlive(pgid int) bool { return groupExists(pgid) }
