package plugins

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/plugins/builtin"
)

// Evaluator runs one built-in check in this process, for a watch: no fork,
// so evaluating it every second costs microseconds (procs: a scan of /proc).
// Its arguments are split and their macros expanded once, when it is made.
type Evaluator struct {
	r   *Runner
	c   check.Check
	chk builtin.Check
}

// Evaluator makes the in-process evaluator of c, whose command must be
// picket:NAME with arguments. The error says why it cannot be one.
func (r *Runner) Evaluator(c check.Check) (*Evaluator, error) {
	words, err := splitCommand(c.Command)
	if err != nil {
		return nil, err
	}
	macros := r.macros(c)
	for i, w := range words {
		if words[i], err = expandMacros(w, macros); err != nil {
			return nil, err
		}
	}
	name, ok := strings.CutPrefix(words[0], BuiltinPrefix)
	if !ok {
		return nil, fmt.Errorf("%q is not a built-in check (picket:NAME)", words[0])
	}
	b, ok := builtin.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no built-in check %s (picket plugin lists them)", name)
	}
	chk, err := b.New(words[1:])
	if err != nil {
		return nil, r.cfg.Secrets.RedactError(err)
	}
	return &Evaluator{r: r, c: c, chk: chk}, nil
}

// Evaluate runs the check once, under its timeout, and returns its result
// as Run would: for the check's host and service, with secrets masked. A
// built-in that panics is an UNKNOWN result, never a crash of the agent.
func (e *Evaluator) Evaluate(ctx context.Context) (res check.Result) {
	start := time.Now()
	ctx, cancel := context.WithTimeoutCause(ctx, cmpTimeout(e.c.Timeout), errCheckTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			res = check.Result{State: check.Unknown, ExitCode: -1,
				Output: fmt.Sprintf("built-in check panicked: %v", p), LongOutput: string(debug.Stack())}
		}
		res.Host, res.Service, res.CheckTime = e.c.Host, e.c.Service, start
		res.Duration = time.Since(start)
		if errors.Is(context.Cause(ctx), errCheckTimeout) {
			res.State, res.Output = e.c.TimeoutState, "check timed out after "+formatDuration(e.c.Timeout)
		}
		res = e.r.redact(res)
	}()
	res = e.chk.Run(ctx, e.r.shared())
	res.ExitCode = int(res.State)
	return res
}

// sharedProcsAge is how old a process table the watches of one runner may
// share: a process that just died is seen within it, and a hundred
// process watches cost one scan of the table a round.
const sharedProcsAge = 250 * time.Millisecond

// shared is the OS every evaluator of r uses.
func (r *Runner) shared() builtin.OS {
	r.sharedOnce.Do(func() {
		r.sharedOS = &builtin.Shared{System: builtin.System{StateDir: r.cfg.StateDir}, MaxAge: sharedProcsAge}
	})
	return r.sharedOS
}

func cmpTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultTimeout
	}
	return d
}
