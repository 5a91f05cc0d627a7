package plugins

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/secrets"
	"github.com/picket-monitoring/picket/plugins/builtin"
)

// Defaults for the zero values of Config and check.Check.
const (
	DefaultMaxOutput = 64 << 10
	DefaultKillGrace = 5 * time.Second
	DefaultTimeout   = 60 * time.Second
)

// Config is how plugins are found and run. The Runner keeps its own copy.
type Config struct {
	// Dirs are the plugin folders, searched in order; $USER1$ is Dirs[0].
	Dirs []string
	// AllowOutside lets a check name an absolute plugin path outside Dirs.
	AllowOutside bool
	// Macros are extra macros by name without dollars, e.g. "USER2".
	Macros map[string]string
	// Interpreters run scripts by lower-case extension, e.g. ".ps1"; nil
	// means DefaultInterpreters().
	Interpreters map[string][]string
	// MaxOutput is how many bytes of each of stdout and stderr are kept;
	// 0 means DefaultMaxOutput.
	MaxOutput int
	// KillGrace is how long a plugin tree has between SIGTERM and SIGKILL;
	// 0 means DefaultKillGrace.
	KillGrace time.Duration
	// NoCgroup keeps runs out of cgroups on Linux even where the agent
	// could make one per run: they are then contained by the fallback
	// (the agent as child subreaper, and /proc sweeps). Elsewhere it
	// changes nothing.
	NoCgroup bool
	// Env is the environment plugins start from; nil means os.Environ().
	Env []string
	// Self is the picket executable that runs built-in checks
	// ("picket:NAME"); empty means this process's own executable.
	Self string
	// Secrets fill $SECRET:name$ in commands, and are masked in every
	// result and in the argv Command shows.
	Secrets *secrets.Set
	// StateDir is where built-ins evaluated in-process (watches) keep
	// what must last between runs; a re-exec'd one is told through Env.
	StateDir string
}

// Runner runs checks. It is safe for concurrent use; each Run is
// independent.
type Runner struct {
	cfg     Config
	interps map[string][]string
	// sharedOS is what its watches read the system through (watch.go).
	sharedOnce sync.Once
	sharedOS   *builtin.Shared
	contain    *containment
	// legacy are the code pages tried for output that is neither UTF-8
	// nor UTF-16 (see decodeOutput).
	legacy []*charmap.Charmap
}

// NewRunner returns a Runner for cfg, with defaults filled in.
func NewRunner(cfg Config) *Runner {
	cfg.Dirs = slices.Clone(cfg.Dirs)
	cfg.Macros = maps.Clone(cfg.Macros)
	cfg.Env = slices.Clone(cfg.Env) // nil stays nil: it means os.Environ()
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = DefaultKillGrace
	}
	src := cfg.Interpreters
	if src == nil {
		src = DefaultInterpreters()
	}
	interps := make(map[string][]string, len(src))
	for ext, argv := range src {
		interps[strings.ToLower(ext)] = slices.Clone(argv)
	}
	cfg.Interpreters = nil
	return &Runner{cfg: cfg, interps: interps, contain: newContainment(cfg), legacy: outputCodePages()}
}

// Containment says how runs are held so that nothing a plugin starts
// outlives its run, for the agent's log: "cgroup v2 DIR" (a cgroup per run
// under DIR), "subreaper (why no cgroup)", "process group" or "job
// object". On Linux the first call makes the choice, which may start a
// probe process.
func (r *Runner) Containment() string { return r.contain.describe() }

// errCheckTimeout is the cause of a run's own deadline, which tells it apart
// from the caller cancelling the context.
var errCheckTimeout = errors.New("check timed out")

// Run runs c once and reports what happened. It never fails: a plugin that
// cannot be started, times out, crashes or prints nothing is a result too.
// When ctx is cancelled the plugin's tree is stopped as on a timeout, and the
// result is UNKNOWN "check interrupted after ...".
func (r *Runner) Run(ctx context.Context, c check.Check) check.Result {
	start := time.Now()
	res := check.Result{Host: c.Host, Service: c.Service, CheckTime: start, ExitCode: -1}
	finish := func(state check.State, output string) check.Result {
		res.State, res.Output = state, output
		res.Duration = time.Since(start)
		return r.redact(res)
	}

	argv, env, err := r.resolve(c)
	if err != nil {
		return finish(check.Unknown, err.Error())
	}
	if cause := context.Cause(ctx); cause != nil {
		return finish(check.Unknown, interrupted(start, cause))
	}

	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, timeout, errCheckTimeout)
	defer cancel()

	o := r.execute(runCtx, argv, env, c.Shell)
	switch {
	case o.stopped:
		cause := context.Cause(runCtx)
		if errors.Is(cause, errCheckTimeout) {
			return finish(c.TimeoutState, "check timed out after "+formatDuration(timeout))
		}
		return finish(check.Unknown, interrupted(start, cause))
	case o.startErr != nil:
		return finish(check.Unknown, fmt.Sprintf("cannot start plugin %s: %v", argv[0], o.startErr))
	case o.state == nil:
		return finish(check.Unknown, fmt.Sprintf("plugin %s: %v", argv[0], o.waitErr))
	}

	text := parseOutput(o.stdout, o.stderr, r.cfg.MaxOutput, r.legacy)
	res.LongOutput, res.Perfdata = text.long, text.perf
	if sig, ok := killedBySignal(o.state); ok {
		return finish(check.Unknown, withPluginLine("plugin killed by "+sig, text))
	}
	res.ExitCode = o.state.ExitCode()
	state, ok := check.StateFromExitCode(res.ExitCode)
	if !ok {
		msg := fmt.Sprintf("plugin exited with code %d (out of range 0..3)", res.ExitCode)
		return finish(check.Unknown, withPluginLine(msg, text))
	}
	return finish(state, text.output)
}

// redact masks every secret in what res says, so a plugin that prints a
// password does not put it in the spool, the logs or Nagios.
func (r *Runner) redact(res check.Result) check.Result {
	sec := r.cfg.Secrets
	if sec == nil {
		return res
	}
	res.Output, res.LongOutput = sec.Redact(res.Output), sec.Redact(res.LongOutput)
	if len(res.Perfdata) > 0 {
		perf := slices.Clone(res.Perfdata)
		for i := range perf {
			p := &perf[i]
			p.Label, p.UOM = sec.Redact(p.Label), sec.Redact(p.UOM)
			p.Warn, p.Crit, p.Min, p.Max = sec.Redact(p.Warn), sec.Redact(p.Crit), sec.Redact(p.Min), sec.Redact(p.Max)
		}
		res.Perfdata = perf
	}
	return res
}

// withPluginLine appends the plugin's own first line to a message about how
// it ended, since that line often says why.
func withPluginLine(msg string, text pluginText) string {
	if text.empty || text.output == "" {
		return msg
	}
	return msg + ": " + text.output
}

func interrupted(start time.Time, cause error) string {
	return fmt.Sprintf("check interrupted after %s: %v", formatDuration(roundElapsed(time.Since(start))), cause)
}

func roundElapsed(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// formatDuration writes d as a person would configure it: "1m", not "1m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
