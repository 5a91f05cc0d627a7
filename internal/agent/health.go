package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/tomlfile"
	"github.com/picket-monitoring/picket/poller"
)

// pollerHealth turns the poller's counters over one period (prev to cur)
// into a result on the agent's own service, so a Nagios admin sees an agent
// whose checks are skipped or late in the tool they already watch.
//
// Skipped runs mean a plugin is slower than its interval or the concurrency
// limit is too low for the check list: a WARNING, since results are going
// missing. Sink errors mean results were produced but not kept: CRITICAL.
func pollerHealth(host, service string, prev, cur poller.Stats, now time.Time, period time.Duration) check.Result {
	started := cur.Started - prev.Started
	skipped := cur.Skipped - prev.Skipped
	sinkErrs := cur.SinkErrors - prev.SinkErrors
	r := check.Result{Host: host, Service: service, State: check.OK, CheckTime: now, ExitCode: int(check.OK)}
	var problems []string
	if sinkErrs > 0 {
		r.State = check.Critical
		problems = append(problems, fmt.Sprintf("%d results could not be stored", sinkErrs))
	}
	if skipped > 0 {
		r.State = max(r.State, check.Warning)
		problems = append(problems, fmt.Sprintf("%d runs skipped because the check was still running or waiting for a slot", skipped))
	}
	summary := fmt.Sprintf("%d checks, %d runs in the last %s, lateness p99 %s",
		cur.Scheduled, started, formatPeriod(period), cur.Lateness.P99)
	if len(problems) == 0 {
		r.Output = "POLLER OK - " + summary
	} else {
		r.Output = "POLLER " + r.State.String() + " - " + strings.Join(problems, "; ") + "; " + summary
	}
	r.ExitCode = int(r.State)
	r.Perfdata = []check.Perf{
		{Label: "checks", Value: float64(cur.Scheduled)},
		{Label: "running", Value: float64(cur.Running)},
		{Label: "waiting", Value: float64(cur.Waiting)},
		{Label: "started", Value: float64(cur.Started), UOM: "c"},
		{Label: "skipped", Value: float64(cur.Skipped), UOM: "c"},
		{Label: "sink_errors", Value: float64(cur.SinkErrors), UOM: "c"},
		{Label: "late_p99", Value: cur.Lateness.P99.Seconds(), UOM: "s"},
		{Label: "late_max", Value: cur.Lateness.Max.Seconds(), UOM: "s"},
	}
	return r
}

func formatPeriod(d time.Duration) string {
	b, _ := tomlfile.Duration{Duration: d.Round(time.Second)}.MarshalText()
	return string(b)
}
