package builtin

import (
	"context"
	"fmt"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
)

var loadBuiltin = Builtin{
	Name:    "load",
	Summary: "1, 5 and 15 minute load average (Unix), like check_load",
	usage: `Usage: picket plugin load [-w W1,W5,W15] [-c C1,C5,C15] [-r]

Checks the load average, like check_load. Each threshold is one range for
all three averages or three comma-separated ranges (1, 5, 15 minutes).
Windows has no load average: the check is UNKNOWN there (use cpu).

Example: picket plugin load -r -w 2,1.5,1 -c 4,3,2`,
	define: defineLoad,
}

type loadCheck struct {
	lim    [3]limits
	perCPU bool
}

func defineLoad(f *flags) func() (Check, error) {
	var warn, crit string
	c := &loadCheck{}
	f.str(&warn, "w", "warning", "W1,W5,W15", "warning ranges for the 1, 5 and 15 minute load")
	f.str(&crit, "c", "critical", "C1,C5,C15", "critical ranges for the 1, 5 and 15 minute load")
	f.boolean(&c.perCPU, "r", "percpu", "divide the load averages by the number of CPUs")
	return func() (Check, error) {
		for i, spec := range []string{warn, crit} {
			ts, err := loadRanges(spec)
			if err != nil {
				return nil, err
			}
			for k := range 3 {
				if i == 0 {
					c.lim[k].warn = ts[k]
				} else {
					c.lim[k].crit = ts[k]
				}
			}
		}
		return c, nil
	}
}

// loadRanges reads "5" or "5,4,3" into three thresholds (nil when empty).
func loadRanges(spec string) ([3]*Threshold, error) {
	var out [3]*Threshold
	if spec == "" {
		return out, nil
	}
	parts := strings.Split(spec, ",")
	if len(parts) != 1 && len(parts) != 3 {
		return out, fmt.Errorf("%w %q: want one range or three separated by commas", ErrRange, spec)
	}
	for i := range 3 {
		p := parts[min(i, len(parts)-1)]
		t, err := parseThreshold(p, plainNumbers)
		if err != nil {
			return out, err
		}
		out[i] = &t
	}
	return out, nil
}

func (c *loadCheck) Run(ctx context.Context, sys OS) check.Result {
	l, err := sys.LoadAvg(ctx)
	if err != nil {
		return failed("LOAD", err)
	}
	vals := [3]float64{l.Load1, l.Load5, l.Load15}
	what := "load average"
	if c.perCPU && l.CPUs > 0 {
		for i := range vals {
			vals[i] /= float64(l.CPUs)
		}
		what = fmt.Sprintf("load average per CPU (%d CPUs)", l.CPUs)
	}
	o := outcome{prefix: "LOAD"}
	for i, name := range []string{"load1", "load5", "load15"} {
		o.raise(c.lim[i].state(vals[i], 0))
		w, cr := c.lim[i].perf(0, false)
		o.perf = append(o.perf, check.Perf{Label: name, Value: round(vals[i], 3), Warn: w, Crit: cr, Min: "0"})
	}
	o.summary = []string{fmt.Sprintf("%s: %.2f, %.2f, %.2f", what, vals[0], vals[1], vals[2])}
	return o.result()
}
