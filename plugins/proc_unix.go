//go:build unix

package plugins

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// procTree is the plugin's process group. The plugin leads it (pgid = its
// pid), and everything it starts stays in it unless it asks to leave, so one
// signal reaches the whole tree. Its box (Linux) holds what leaves.
type procTree struct {
	cmd *exec.Cmd
	box *box
}

func newTree(cmd *exec.Cmd, c *containment) (*procTree, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b, err := c.newBox(cmd)
	if err != nil {
		return nil, fmt.Errorf("contain plugin: %w", err)
	}
	return &procTree{cmd: cmd, box: b}, nil
}

func (t *procTree) start() error { return t.box.start(t.cmd) }

func (t *procTree) wait() error { return t.box.wait(t.cmd) }

// useShell needs nothing on Unix: sh -c takes the line as one argument.
func useShell(*exec.Cmd) {}

// started has nothing to do: the child joined its group before exec, so the
// group exists by the time Start returns.
func (t *procTree) started() error { return nil }

// terminate asks the whole group to stop. It runs as exec.Cmd.Cancel, which
// is only called after Start set cmd.Process.
func (t *procTree) terminate() error {
	return t.signal(syscall.SIGTERM)
}

// killWait bounds the wait for a killed group to be gone: a process in
// uninterruptible sleep (a hung NFS mount) dies only when it wakes, and the
// agent must not hang with it.
const killWait = 5 * time.Second

// kill ends whatever is left of the group and of the box, and waits until
// it is gone: SIGKILL takes effect asynchronously, and Run promises that
// nothing of the tree is alive when it returns. The signal is repeated
// while waiting in case a member was in the middle of forking.
//
// After the plugin is reaped its pid could in principle be reused as a new
// group id, but pids are handed out in sequence, so that needs the whole pid
// space to wrap within these few milliseconds.
func (t *procTree) kill() {
	pgid := t.cmd.Process.Pid
	deadline := time.Now().Add(killWait)
	t.box.kill(deadline)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		if t.signal(syscall.SIGKILL) != nil || !groupAlive(pgid) || time.Now().After(deadline) {
			return
		}
		time.Sleep(delay)
	}
}

func (t *procTree) release() { t.box.release() }

func (t *procTree) signal(sig syscall.Signal) error {
	err := syscall.Kill(-t.cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	if err != nil {
		return fmt.Errorf("signal process group %d: %w", t.cmd.Process.Pid, err)
	}
	return nil
}

// groupExists reports whether any process, zombies included, is in group
// pgid.
func groupExists(pgid int) bool {
	return !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// killedBySignal describes a plugin that died of a signal, as
// "signal 9 (killed)".
func killedBySignal(ps *os.ProcessState) (string, bool) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return "", false
	}
	sig := ws.Signal()
	return fmt.Sprintf("signal %d (%s)", int(sig), sig), true
}
