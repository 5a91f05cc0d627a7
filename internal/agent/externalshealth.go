package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/check"
)

// report is the agent's externals service: which version of each host's
// externals runs, when the server last confirmed it, and what went wrong.
//
// A rejected download (invalid, oversized, badly signed) is CRITICAL: an
// administrator's change is not running. So is auto-config mode (nothing
// confirmed for max_stale) and a 404 with no way to register. A server that
// failed two pulls in a row, or a registration under way, is a WARNING:
// the last-known-good still runs.
func (m *extManager) report(now time.Time) check.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := check.Result{Host: m.cfg.Hostname, Service: m.cfg.Health.ExternalsService, State: check.OK, CheckTime: now}
	var problems, lines []string
	total := 0
	var oldest time.Duration
	raise := func(s check.State, msg string) {
		r.State = max(r.State, s)
		problems = append(problems, msg)
	}
	for i, he := range m.hosts {
		running := "none"
		if he.snap != nil {
			running = he.snap.Version()
			age := now.Sub(he.snap.Meta.CheckedAt)
			oldest = max(oldest, age)
			if m.staleLocked(he, now) {
				raise(check.Critical, fmt.Sprintf("%s: auto-config mode: externals %s not confirmed by the server for %s (max_stale %s); running local checks only",
					he.host, running, formatPeriod(age), formatPeriod(m.cfg.Externals.MaxStale.Duration)))
			} else {
				total += len(he.snap.File.Checks)
			}
		}
		line := fmt.Sprintf("%s: externals %s", he.host, running)
		if he.snap != nil {
			line += fmt.Sprintf(", %d checks, confirmed %s", len(he.snap.File.Checks), he.snap.Meta.CheckedAt.UTC().Format(time.RFC3339))
		}
		if !he.updated.IsZero() && he.previous != "" {
			line += fmt.Sprintf(", updated from %s at %s", he.previous, he.updated.UTC().Format(time.RFC3339))
		}
		lines = append(lines, line)
		if !he.fetched || he.failures == 0 {
			continue
		}
		why := ""
		if he.last.Err != nil {
			why = he.last.Err.Error()
		}
		keep := "keeping " + running
		if he.snap == nil {
			keep = "no externals yet"
		}
		switch he.last.Status {
		case externals.Rejected:
			raise(check.Critical, fmt.Sprintf("%s: externals rejected: %s; %s", he.host, why, keep))
		case externals.NotFound:
			switch {
			case i > 0:
				raise(check.Critical, fmt.Sprintf("%s: the server has no externals for this monitored host (404)", he.host))
			case m.client == nil:
				raise(check.Critical, fmt.Sprintf("%s: the server has no externals for this host (404) and [autoreg] has no url to register with; %s", he.host, keep))
			case m.reg.done && !m.reg.active:
				raise(check.Critical, fmt.Sprintf("%s: registered, but the server still has no externals for this host (404); %s", he.host, keep))
			}
		case externals.Unreachable:
			if he.failures >= 2 {
				raise(check.Warning, fmt.Sprintf("%s: externals server unreachable since %s (%s); %s", he.host,
					he.since.UTC().Format(time.RFC3339), why, keep))
			}
		}
	}
	switch {
	case m.reg.active:
		raise(check.Warning, "registering at "+m.cfg.Autoreg.URL)
	case m.reg.err != "" && !m.reg.done:
		raise(check.Warning, "registration at "+m.cfg.Autoreg.URL+" failed ("+m.reg.err+"); trying again")
	}
	summary := fmt.Sprintf("%d externals checks", total)
	if len(m.hosts) > 1 {
		summary += fmt.Sprintf(" for %d hosts", len(m.hosts))
	}
	if len(problems) == 0 {
		r.Output = "EXTERNALS OK - " + lines[0] + "; " + summary
	} else {
		r.Output = "EXTERNALS " + r.State.String() + " - " + strings.Join(problems, "; ")
	}
	if len(m.hosts) > 1 || len(problems) > 0 {
		r.LongOutput = strings.Join(lines, "\n")
	}
	r.ExitCode = int(r.State)
	r.Perfdata = []check.Perf{
		{Label: "checks", Value: float64(total)},
		{Label: "age", Value: oldest.Round(time.Second).Seconds(), UOM: "s",
			Crit: fmt.Sprint(m.cfg.Externals.MaxStale.Seconds())},
	}
	return r
}
