package nagios

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// maxOutput caps what is kept of a command's output. nagios4 -v prints a few
// lines per problem; a runaway command must not fill picket's memory.
const maxOutput = 1 << 20

// waitDelay bounds how long a finished or killed command's output pipes may
// stay open, held by a child that escaped the process group.
const waitDelay = 5 * time.Second

// commandFailed is the error of a command that ran and exited unsuccessfully,
// as opposed to one that could not start or was stopped by ctx.
type commandFailed struct {
	status string // "exited with status 1", "was killed by signal ..."
	err    error
}

func (e *commandFailed) Error() string { return e.status }
func (e *commandFailed) Unwrap() error { return e.err }

// runCommand runs argv with its output captured, for at most timeout. On
// timeout or cancellation of ctx the command's whole process group is
// killed (on unix), so that a wrapper script's children go too.
func runCommand(ctx context.Context, argv []string, timeout time.Duration) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	var out cappedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = waitDelay
	setProcessGroup(cmd)
	err := cmd.Run()
	name := strings.Join(argv, " ")
	switch {
	case err == nil:
		return out.Bytes(), nil
	case ctx.Err() != nil:
		return out.Bytes(), fmt.Errorf("%s: %w", name, ctx.Err())
	case cctx.Err() != nil:
		return out.Bytes(), fmt.Errorf("%s: timed out after %v: %w", name, timeout, cctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		status := fmt.Sprintf("exited with status %d", ee.ExitCode())
		if ee.ExitCode() < 0 {
			status = "ended: " + ee.ProcessState.String()
		}
		return out.Bytes(), &commandFailed{status: status, err: err}
	}
	return out.Bytes(), fmt.Errorf("%s: %w", name, err)
}

// cappedBuffer keeps the first maxOutput bytes written to it and discards the
// rest while still reporting success, so that the command is not killed by
// a broken pipe for talking too much.
type cappedBuffer struct {
	mu  sync.Mutex // stdout and stderr are copied by separate goroutines
	b   []byte
	cut bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := maxOutput - len(c.b)
	if len(p) > room {
		c.b = append(c.b, p[:room]...)
		c.cut = true
	} else {
		c.b = append(c.b, p...)
	}
	return len(p), nil
}

func (c *cappedBuffer) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return append(c.b[:len(c.b):len(c.b)], "\n(output cut)\n"...)
	}
	return c.b
}
