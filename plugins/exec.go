package plugins

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// outcome is what became of one plugin process.
type outcome struct {
	// startErr is set when the process could not be started.
	startErr error
	// stopped is set when the run's context ended while the plugin ran
	// and its tree was told to stop.
	stopped bool
	// state is the reaped plugin's exit status, nil if it never ran.
	state          *os.ProcessState
	waitErr        error
	stdout, stderr *capture
}

// abandonReaders bounds the wait for the output readers once the tree is
// dead and the pipes are closed. On Unix closing wakes them at once; the
// bound is for Windows, where closing a pipe does not interrupt a pending
// read, and a process outside the job could still hold the other end.
const abandonReaders = 2 * time.Second

// execute starts argv, waits for it and its output, and leaves nothing of
// its tree alive. ctx carries the run's deadline.
func (r *Runner) execute(ctx context.Context, argv, env []string, shell bool) outcome {
	o := outcome{stdout: newCapture(r.cfg.MaxOutput), stderr: newCapture(r.cfg.MaxOutput)}

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	tree, err := newTree(cmd, r.contain)
	if err != nil {
		o.startErr = err
		return o
	}
	defer tree.release()
	if shell {
		useShell(cmd)
	}

	// Our own pipes rather than exec's: exec stops waiting for its pipes a
	// fixed WaitDelay after the plugin exits, while a leftover child may
	// hold them open up to the run's deadline, which only we know.
	outR, outW, err := os.Pipe()
	if err != nil {
		o.startErr = fmt.Errorf("make stdout pipe: %w", err)
		return o
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		o.startErr = fmt.Errorf("make stderr pipe: %w", err)
		return o
	}
	cmd.Stdout, cmd.Stderr = outW, errW

	// Cancel runs when ctx ends before the plugin has exited; then exec
	// kills the plugin itself after WaitDelay, and we kill the rest.
	var stoppedAt atomic.Int64
	cmd.Cancel = func() error {
		stoppedAt.Store(time.Now().UnixNano())
		return tree.terminate()
	}
	cmd.WaitDelay = r.cfg.KillGrace

	err = tree.start()
	// The child has its own copies; ours would hold the pipes open forever.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		o.startErr = err
		o.stopped = ctx.Err() != nil
		return o
	}

	var wg sync.WaitGroup
	wg.Go(func() { o.stdout.readFrom(outR) })
	wg.Go(func() { o.stderr.readFrom(errR) })
	drained := make(chan struct{})
	go func() {
		wg.Wait()
		close(drained)
	}()
	finish := func() {
		tree.kill()
		outR.Close()
		errR.Close()
		t := time.NewTimer(abandonReaders)
		defer t.Stop()
		select {
		case <-drained:
		case <-t.C:
		}
	}

	if err := tree.started(); err != nil {
		tree.kill()
		_ = cmd.Process.Kill()
		_ = tree.wait()
		finish()
		o.startErr = err
		return o
	}

	o.waitErr = tree.wait()
	o.state = cmd.ProcessState
	if at := stoppedAt.Load(); at != 0 {
		o.stopped = true
		// The whole tree had KillGrace from the moment it was told to
		// stop, not just the plugin.
		t := time.NewTimer(time.Until(time.Unix(0, at).Add(r.cfg.KillGrace)))
		select {
		case <-drained:
		case <-t.C:
		}
		t.Stop()
	} else {
		// The plugin exited by itself. Something it left behind may hold
		// its pipes, but not beyond the run's deadline.
		select {
		case <-drained:
		case <-ctx.Done():
		}
	}
	finish()
	return o
}
