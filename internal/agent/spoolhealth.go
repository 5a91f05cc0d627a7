package agent

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/spooler"
)

// spoolFullWarning is the share of max_bytes above which the spool's
// service warns: past it, the next outage starts dropping results.
const spoolFullWarning = 0.8

// spoolerHealth turns the spool's and the senders' figures, and the
// results lost, into a result on the agent's own service.
type spoolerHealth struct {
	host, service string
	warn, crit    time.Duration
	maxBytes      int64
	skew          time.Duration
	// refused is each target's count of refused results at the last
	// report, so a new refusal shows once as WARNING.
	refused map[string]uint64
}

func newSpoolerHealth(cfg *config.Config) *spoolerHealth {
	h := &spoolerHealth{refused: map[string]uint64{}}
	h.configure(cfg)
	return h
}

func (h *spoolerHealth) configure(cfg *config.Config) {
	h.host, h.service = cfg.Hostname, cfg.Health.SpoolerService
	h.warn, h.crit = cfg.Health.BacklogWarning.Duration, cfg.Health.BacklogCritical.Duration
	h.maxBytes = int64(cfg.Spool.MaxBytes)
	h.skew = cfg.Health.ClockSkewWarning.Duration
}

func drops(d spool.Drops) uint64 { return d.Age + d.Bytes + d.Corrupt }

// report is the spooler's service now. lost are the losses no one has
// acknowledged: while there are any, it is CRITICAL and says what was lost,
// why, for which target and when it was checked. storeErr is why the spool
// refuses results now, if it does.
func (h *spoolerHealth) report(now time.Time, sp spool.Stats, st spooler.Stats, lost []LossEvent, storeErr error) check.Result {
	r := check.Result{Host: h.host, Service: h.service, State: check.OK, CheckTime: now}
	var problems, summary []string
	raise := func(s check.State, msg string) {
		r.State = max(r.State, s)
		problems = append(problems, msg)
	}
	if storeErr != nil {
		raise(check.Critical, "the spool cannot store results: "+storeProblem(storeErr))
	}
	names := map[string]string{}
	for _, g := range st.Groups {
		names[g.Cursor] = groupName(g)
	}
	total, text := describeLosses(lost, names)
	if total > 0 {
		raise(check.Critical, fmt.Sprintf("%s lost: %s; `picket spool ack` once seen", results(total), text))
	}
	r.Perfdata = append(r.Perfdata, check.Perf{Label: "lost", Value: float64(total), Crit: "0"})
	for _, g := range st.Groups {
		cs := sp.Cursors[g.Cursor]
		name := groupName(g)
		d := drops(cs.Dropped)
		if !cs.Oldest.IsZero() {
			switch age := now.Sub(cs.Oldest); {
			case age >= h.crit:
				raise(check.Critical, fmt.Sprintf("%s: oldest unsent result is %s old%s", name, formatPeriod(age), lastError(g)))
			case age >= h.warn:
				raise(check.Warning, fmt.Sprintf("%s: oldest unsent result is %s old%s", name, formatPeriod(age), lastError(g)))
			}
		}
		for _, t := range g.Targets {
			if t.ClockKnown && t.ClockOffset.Abs() > h.skew {
				side := "ahead of"
				if t.ClockOffset < 0 {
					side = "behind"
				}
				raise(check.Warning, fmt.Sprintf("%s's clock is %s %s this host's: Nagios files results at the wrong time; check NTP on both", t.Name, formatPeriod(t.ClockOffset.Abs()), side))
			}
			if prev := h.refused[t.Address]; t.Refused > prev {
				raise(check.Warning, fmt.Sprintf("%s refused %d results (not sent again): %s", t.Name, t.Refused-prev, t.LastRefusal))
			}
			h.refused[t.Address] = t.Refused
		}
		if len(g.Targets) > 1 && g.Active != "" && g.Active != g.Targets[0].Name {
			raise(check.Warning, fmt.Sprintf("%s: primary %s down, sending to %s", name, g.Targets[0].Name, g.Active))
		}
		summary = append(summary, fmt.Sprintf("%s %d queued, %d sent", name, cs.Pending, g.Sent))
		r.Perfdata = append(r.Perfdata,
			check.Perf{Label: g.Cursor + " queued", Value: float64(cs.Pending)},
			check.Perf{Label: g.Cursor + " oldest", Value: ageSeconds(now, cs.Oldest), UOM: "s",
				Warn: fmt.Sprint(h.warn.Seconds()), Crit: fmt.Sprint(h.crit.Seconds())},
			check.Perf{Label: g.Cursor + " sent", Value: float64(g.Sent), UOM: "c"},
			check.Perf{Label: g.Cursor + " dropped", Value: float64(d), UOM: "c"},
		)
	}
	if limit := float64(h.maxBytes) * spoolFullWarning; float64(sp.Bytes) >= limit {
		raise(check.Warning, fmt.Sprintf("spool %.0f%% full (%d of %d bytes)", 100*float64(sp.Bytes)/float64(h.maxBytes), sp.Bytes, h.maxBytes))
	}
	r.Perfdata = append(r.Perfdata, check.Perf{Label: "spool", Value: float64(sp.Bytes), UOM: "B",
		Warn: fmt.Sprint(int64(float64(h.maxBytes) * spoolFullWarning)), Min: "0", Max: fmt.Sprint(h.maxBytes)})
	status := strings.Join(summary, "; ")
	if len(problems) == 0 {
		r.Output = "SPOOLER OK - " + status
	} else {
		r.Output = "SPOOLER " + r.State.String() + " - " + strings.Join(problems, "; ") + "; " + status
	}
	r.ExitCode = int(r.State)
	return r
}

// groupName is how a group is named to a person: its targets.
func groupName(g spooler.GroupStats) string {
	var names []string
	for _, t := range g.Targets {
		names = append(names, t.Name)
	}
	return strings.Join(names, "/")
}

func lastError(g spooler.GroupStats) string {
	if g.LastError == "" {
		return ""
	}
	return " (" + g.LastError + ")"
}

func ageSeconds(now, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return now.Sub(t).Round(time.Second).Seconds()
}

func logSpoolStats(logger *slog.Logger, sp spool.Stats, st spooler.Stats) {
	for _, g := range st.Groups {
		cs := sp.Cursors[g.Cursor]
		logger.Info("spooler stats", "targets", groupName(g), "active", g.Active, "queued", cs.Pending,
			"sent", g.Sent, "reduced", g.Reduced, "dropped", drops(cs.Dropped), "last_error", g.LastError)
	}
	logger.Info("spool stats", "records", sp.Records, "bytes", sp.Bytes)
}

// results is "1 result" or "n results".
func results(n uint64) string {
	if n == 1 {
		return "1 result"
	}
	return fmt.Sprintf("%d results", n)
}
