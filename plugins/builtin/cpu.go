package builtin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

var cpuBuiltin = Builtin{
	Name:    "cpu",
	Summary: "CPU use in percent, total and per core, averaged over a window",
	usage: `Usage: picket plugin cpu [-w RANGE] [-c RANGE] [-t WINDOW] [-p]

Samples the CPU counters, waits WINDOW (default 1s), samples again, and
checks the share of time the CPUs were busy (not idle, not waiting for I/O)
in between: total, and with -p each core against the same thresholds.
Perfdata always carries the total, user, system, iowait and each core.

Example: picket plugin cpu -w 80 -c 95 -t 5s`,
	define: defineCPU,
}

type cpuCheck struct {
	lim     limits
	window  time.Duration
	perCore bool
}

func defineCPU(f *flags) func() (Check, error) {
	c := &cpuCheck{window: time.Second}
	f.threshold(&c.lim.warn, percentOnly, "w", "warning", "warning range of CPU busy percent")
	f.threshold(&c.lim.crit, percentOnly, "c", "critical", "critical range of CPU busy percent")
	f.duration(&c.window, "t", "window", "how long to average over (default 1s)")
	f.boolean(&c.perCore, "p", "per-core", "apply the thresholds to each core too")
	return func() (Check, error) {
		if c.window <= 0 {
			return nil, errors.New("the window must be longer than zero")
		}
		return c, nil
	}
}

func (c *cpuCheck) Run(ctx context.Context, sys OS) check.Result {
	before, err := sys.CPUTimes(ctx)
	if err != nil {
		return failed("CPU", err)
	}
	if err := sys.Sleep(ctx, c.window); err != nil {
		return failed("CPU", fmt.Errorf("interrupted while sampling: %w", err))
	}
	after, err := sys.CPUTimes(ctx)
	if err != nil {
		return failed("CPU", err)
	}
	if len(after) != len(before) || len(after) == 0 {
		return failed("CPU", fmt.Errorf("the number of CPUs changed while sampling (%d, then %d)", len(before), len(after)))
	}

	var sum, sb, sa CPUTimes
	o := outcome{prefix: "CPU"}
	var cores []check.Perf
	worstCore, worstPct := -1, -1.0
	for i := range after {
		sb, sa = add(sb, before[i]), add(sa, after[i])
		u := usage(before[i], after[i])
		if c.perCore {
			if s := c.lim.state(u.busy, u.busy); s != check.OK {
				o.raise(s)
				o.long = append(o.long, fmt.Sprintf("core %d: %.0f%% busy (%s)", i, u.busy, s))
			}
		}
		if u.busy > worstPct {
			worstCore, worstPct = i, u.busy
		}
		cores = append(cores, c.pct("cpu"+strconv.Itoa(i), u.busy, c.perCore))
	}
	sum = sub(sa, sb)
	total := usage(CPUTimes{}, sum)
	o.add(c.lim.state(total.busy, total.busy), fmt.Sprintf("%.0f%% busy over %s (%d cores, busiest core %d at %.0f%%)",
		total.busy, c.window, len(after), worstCore, worstPct))
	o.perf = append(o.perf, c.pct("cpu", total.busy, true),
		c.pct("cpu_user", total.user, false), c.pct("cpu_system", total.system, false),
		c.pct("cpu_iowait", total.iowait, false))
	o.perf = append(o.perf, cores...)
	return o.result()
}

func (c *cpuCheck) pct(label string, v float64, thresholds bool) check.Perf {
	p := check.Perf{Label: label, Value: round(v, 2), UOM: "%", Min: "0", Max: "100"}
	if thresholds {
		p.Warn, p.Crit = c.lim.perf(100, true)
	}
	return p
}

type cpuUsage struct{ busy, user, system, iowait float64 }

// usage is the share of each kind of time between two samples.
func usage(a, b CPUTimes) cpuUsage {
	d := sub(b, a)
	total := d.total()
	if total <= 0 {
		return cpuUsage{}
	}
	return cpuUsage{
		busy:   clamp(100 * (total - d.Idle - d.IOWait) / total),
		user:   clamp(100 * d.User / total),
		system: clamp(100 * d.System / total),
		iowait: clamp(100 * d.IOWait / total),
	}
}

func clamp(v float64) float64 { return max(0, min(100, v)) }

func add(a, b CPUTimes) CPUTimes {
	return CPUTimes{a.User + b.User, a.System + b.System, a.Idle + b.Idle, a.IOWait + b.IOWait, a.Steal + b.Steal, a.Other + b.Other}
}

// sub is b - a, each kind kept at or above zero: counters that run
// backwards (Linux iowait may) must not make a negative share.
func sub(b, a CPUTimes) CPUTimes {
	d := func(x, y float64) float64 { return max(0, x-y) }
	return CPUTimes{d(b.User, a.User), d(b.System, a.System), d(b.Idle, a.Idle), d(b.IOWait, a.IOWait), d(b.Steal, a.Steal), d(b.Other, a.Other)}
}
