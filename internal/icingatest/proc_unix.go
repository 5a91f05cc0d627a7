//go:build unix

package icingatest

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the daemon and its children (worker, spawn helper)
// in a process group of their own, whose id is the pid we started: the
// last-resort SIGKILL reaches all of them and nothing else.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func terminate(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

// killGroup kills the process group led by pid, a process this package
// started with ownProcessGroup.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
