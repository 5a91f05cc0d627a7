package agent

import (
	"fmt"
	"runtime"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// hostResult is the agent's report on its own host: UP, with the agent's
// version and uptime. Sent with every health report, it keeps the host
// object fresh in Nagios, whose freshness threshold then turns the host
// DOWN once the agent stops reporting: one alert for a dead agent or an
// unreachable host, instead of one per stale service.
func hostResult(host, version string, started, now time.Time, checks int) check.Result {
	if version == "" {
		version = "(devel)"
	}
	up := now.Sub(started).Round(time.Second)
	return check.Result{
		Host:      host,
		State:     check.OK, // UP
		ExitCode:  int(check.OK),
		CheckTime: now,
		Output: fmt.Sprintf("PICKET OK - agent %s on %s/%s up %s, %d checks",
			version, runtime.GOOS, runtime.GOARCH, formatPeriod(up), checks),
		Perfdata: []check.Perf{
			{Label: "agent_uptime", Value: up.Seconds(), UOM: "s"},
			{Label: "checks", Value: float64(checks)},
		},
	}
}

// reportHost sends the host result when the config asks for it and the
// central side can know the host (a result for a host not yet registered
// only makes Nagios log "could not be found"). It reports whether it sent.
func (a *Agent) reportHost(now time.Time) bool {
	if !a.cfg.Health.HostResultOn() || (a.ext != nil && a.ext.m.unknown()) {
		return false
	}
	n := 0
	if m := a.running.Load(); m != nil {
		n = len(*m)
	}
	a.putOwn(hostResult(a.cfg.Hostname, a.o.Version, a.started, now, n))
	return true
}
