package builtin

import (
	"context"
	"fmt"

	"github.com/picket-monitoring/picket/internal/check"
)

var uptimeBuiltin = Builtin{
	Name:    "uptime",
	Summary: "time since boot, to catch a recent reboot or a host never rebooted",
	usage: `Usage: picket plugin uptime [-w RANGE] [-c RANGE]

Checks the time since the system booted. Bounds are seconds, or a number
with s, m, h, d or w. "-c 10m:" is critical within ten minutes of a boot;
"-w 90d" warns after 90 days without one.

Example: picket plugin uptime -w 30m: -c 5m:`,
	define: defineUptime,
}

type uptimeCheck struct{ lim limits }

func defineUptime(f *flags) func() (Check, error) {
	c := &uptimeCheck{}
	f.threshold(&c.lim.warn, seconds, "w", "warning", "warning range of the uptime")
	f.threshold(&c.lim.crit, seconds, "c", "critical", "critical range of the uptime")
	return func() (Check, error) { return c, nil }
}

func (c *uptimeCheck) Run(ctx context.Context, sys OS) check.Result {
	up, err := sys.Uptime(ctx)
	if err != nil {
		return failed("UPTIME", err)
	}
	sec := up.Seconds()
	boot := sys.Now().Add(-up).Local().Format("2006-01-02 15:04")
	o := outcome{prefix: "UPTIME"}
	o.add(c.lim.state(sec, 0), fmt.Sprintf("up %s (booted %s)", humanDuration(sec), boot))
	w, cr := c.lim.perf(0, false)
	o.perf = append(o.perf, check.Perf{Label: "uptime", Value: round(sec, 0), UOM: "s", Warn: w, Crit: cr, Min: "0"})
	return o.result()
}
