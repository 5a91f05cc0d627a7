package builtin

import (
	"context"
	"fmt"
	"strconv"

	"github.com/picket-monitoring/picket/internal/check"
)

var memoryBuiltin = Builtin{
	Name:    "memory",
	Summary: "physical memory in use (total minus available)",
	usage: `Usage: picket plugin memory [-w RANGE] [-c RANGE]

Checks physical memory in use: total minus what programs can still get
without swapping (Linux MemAvailable, Windows available physical memory).
Thresholds are on memory used, as a percentage ("90%") or a size ("20GB";
a bare number is bytes).

Example: picket plugin memory -w 90% -c 95%`,
	define: defineMemory,
}

type memoryCheck struct{ lim limits }

func defineMemory(f *flags) func() (Check, error) {
	c := &memoryCheck{}
	q := sizes(1, true)
	f.threshold(&c.lim.warn, q, "w", "warning", "warning range of memory used: percent or size")
	f.threshold(&c.lim.crit, q, "c", "critical", "critical range of memory used: percent or size")
	return func() (Check, error) { return c, nil }
}

func (c *memoryCheck) Run(ctx context.Context, sys OS) check.Result {
	m, err := sys.Memory(ctx)
	if err != nil {
		return failed("MEMORY", err)
	}
	total := float64(m.Total)
	used := float64(m.Total - min(m.Available, m.Total))
	pct := percent(used, total)
	o := outcome{prefix: "MEMORY"}
	o.add(c.lim.state(used, pct), fmt.Sprintf("%.0f%% used (%s)", pct, humanPair(used, total)))
	w, cr := c.lim.perf(total, false)
	o.perf = append(o.perf, check.Perf{Label: "memory", Value: used, UOM: "B", Warn: w, Crit: cr, Min: "0", Max: formatFloat(total)})
	w, cr = c.lim.perf(total, true)
	o.perf = append(o.perf, check.Perf{Label: "memory_pct", Value: round(pct, 2), UOM: "%", Warn: w, Crit: cr, Min: "0", Max: "100"})
	return o.result()
}

var swapBuiltin = Builtin{
	Name:    "swap",
	Summary: "free swap space (Windows: page files), like check_swap",
	usage: `Usage: picket plugin swap [-w RANGE] [-c RANGE] [-n STATE]

Checks free swap space (on Windows the page files), like check_swap:
"-w 50%" warns when less than 50% is free, "-w 500MB" when less than 500 MB
is free (a bare number is bytes). Full range syntax ("@0:10%") is taken as
written, on free space. With no swap at all the state is -n's (default
critical, as check_swap).

Example: picket plugin swap -w 50% -c 20%`,
	define: defineSwap,
}

type swapCheck struct {
	lim    limits
	noSwap check.State
}

func defineSwap(f *flags) func() (Check, error) {
	c := &swapCheck{noSwap: check.Critical}
	q := sizes(1, true)
	f.minimum(&c.lim.warn, q, "w", "warning", "warn when free swap is below this: percent or size")
	f.minimum(&c.lim.crit, q, "c", "critical", "critical when free swap is below this: percent or size")
	f.value("n", "no-swap", "STATE", "state when there is no swap: ok, warning, critical, unknown (default critical)", func(s string) error {
		st, err := check.ParseState(s)
		c.noSwap = st
		return err
	})
	return func() (Check, error) { return c, nil }
}

func (c *swapCheck) Run(ctx context.Context, sys OS) check.Result {
	s, err := sys.Swap(ctx)
	if err != nil {
		return failed("SWAP", err)
	}
	o := outcome{prefix: "SWAP"}
	total, free := float64(s.Total), float64(min(s.Free, s.Total))
	if s.Total == 0 {
		o.add(c.noSwap, "no swap space configured")
		o.perf = append(o.perf, check.Perf{Label: "swap", Value: 0, UOM: "B", Min: "0", Max: "0"})
		return o.result()
	}
	pct := percent(free, total)
	o.add(c.lim.state(free, pct), fmt.Sprintf("%.0f%% free (%s)", pct, humanPair(free, total)))
	w, cr := c.lim.perf(total, false)
	o.perf = append(o.perf, check.Perf{Label: "swap", Value: free, UOM: "B", Warn: w, Crit: cr, Min: "0", Max: strconv.FormatUint(s.Total, 10)})
	w, cr = c.lim.perf(total, true)
	o.perf = append(o.perf, check.Perf{Label: "swap_pct", Value: round(pct, 2), UOM: "%", Warn: w, Crit: cr, Min: "0", Max: "100"})
	return o.result()
}
