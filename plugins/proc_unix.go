//go:build unix

package plugins

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// procTree is the plugin's process group. The plugin leads it (pgid = its
// pid), and everything it starts stays in it unless it asks to leave, so one
// signal reaches the whole tree.
type procTree struct{ cmd *exec.Cmd }

func newTree(cmd *exec.Cmd) (*procTree, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return &procTree{cmd: cmd}, nil
}

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

// kill ends whatever is left of the group. After the plugin is reaped its
// pid could in principle be reused as a new group id, but Linux hands out
// pids in sequence, so that needs the whole pid space to wrap within
// microseconds.
func (t *procTree) kill() { _ = t.signal(syscall.SIGKILL) }

func (t *procTree) release() {}

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
