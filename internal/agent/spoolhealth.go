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

// spoolerHealth turns the spool's and the senders' figures into a result
// on the agent's own service. It remembers the drop totals of the last
// report so that a drop shows as CRITICAL once, in the report after it,
// and the totals stay in the perfdata.
type spoolerHealth struct {
	host, service string
	warn, crit    time.Duration
	maxBytes      int64
	lastDrops     map[string]uint64
}

func newSpoolerHealth(cfg *config.Config) *spoolerHealth {
	h := &spoolerHealth{lastDrops: map[string]uint64{}}
	h.configure(cfg)
	return h
}

// baseline takes the drop totals the spool already holds (they persist
// with the cursors), so a restart does not report old drops as new.
func (h *spoolerHealth) baseline(sp spool.Stats) {
	for c, cs := range sp.Cursors {
		h.lastDrops[c] = drops(cs.Dropped)
	}
}

func (h *spoolerHealth) configure(cfg *config.Config) {
	h.host, h.service = cfg.Hostname, cfg.Health.SpoolerService
	h.warn, h.crit = cfg.Health.BacklogWarning.Duration, cfg.Health.BacklogCritical.Duration
	h.maxBytes = int64(cfg.Spool.MaxBytes)
}

func drops(d spool.Drops) uint64 { return d.Age + d.Bytes + d.Corrupt }

func (h *spoolerHealth) report(now time.Time, sp spool.Stats, st spooler.Stats) check.Result {
	r := check.Result{Host: h.host, Service: h.service, State: check.OK, CheckTime: now}
	var problems, summary []string
	raise := func(s check.State, msg string) {
		r.State = max(r.State, s)
		problems = append(problems, msg)
	}
	for _, g := range st.Groups {
		cs := sp.Cursors[g.Cursor]
		name := groupName(g)
		d := drops(cs.Dropped)
		if prev := h.lastDrops[g.Cursor]; d > prev {
			raise(check.Critical, fmt.Sprintf("%s: %d results dropped (%s)", name, d-prev, dropReasons(cs.Dropped)))
		}
		h.lastDrops[g.Cursor] = d
		if !cs.Oldest.IsZero() {
			switch age := now.Sub(cs.Oldest); {
			case age >= h.crit:
				raise(check.Critical, fmt.Sprintf("%s: oldest unsent result is %s old%s", name, formatPeriod(age), lastError(g)))
			case age >= h.warn:
				raise(check.Warning, fmt.Sprintf("%s: oldest unsent result is %s old%s", name, formatPeriod(age), lastError(g)))
			}
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
	text := strings.Join(summary, "; ")
	if len(problems) == 0 {
		r.Output = "SPOOLER OK - " + text
	} else {
		r.Output = "SPOOLER " + r.State.String() + " - " + strings.Join(problems, "; ") + "; " + text
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

func dropReasons(d spool.Drops) string {
	var parts []string
	for _, p := range []struct {
		n   uint64
		why string
	}{{d.Age, "older than max_age"}, {d.Bytes, "over max_bytes"}, {d.Corrupt, "corrupt on disk"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d total %s", p.n, p.why))
		}
	}
	return strings.Join(parts, ", ")
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
