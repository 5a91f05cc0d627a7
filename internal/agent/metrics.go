package agent

import (
	"context"
	"slices"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/metrics"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/poller"
	"github.com/picket-monitoring/picket/spooler"
)

// metricsSource reads what the agent's metrics show. Its parts are safe to
// read from any goroutine (the scrape's) and are never replaced while the
// agent runs; the config, which a reload replaces, is not among them.
type metricsSource struct {
	poller *poller.Poller
	watch  *poller.Watcher
	send   *spooler.Spooler
	spool  *spool.Spool
}

func (m metricsSource) snapshot() metrics.Agent {
	var s metrics.Agent
	for _, c := range slices.Concat(m.poller.Checks(), m.watch.Checks()) {
		s.Checks = append(s.Checks, metrics.Check{Host: c.Key.Host, Service: c.Key.Service,
			Ran: !c.LastStart.IsZero(), State: int(c.LastState), LastRun: c.LastStart, LastDuration: c.LastDuration,
			Running: c.Running, Runs: c.Runs, Skipped: c.Skipped, Late: c.Late})
	}
	p := m.poller.Stats()
	s.Poller = metrics.Poller{Checks: p.Scheduled, Running: p.Running, Waiting: p.Waiting, Started: p.Started,
		Completed: p.Completed, Skipped: p.Skipped, SinkErrors: p.SinkErrors,
		Lateness: metrics.Histogram{Count: p.Lateness.Count, Sum: p.Lateness.Sum}}
	for _, b := range p.Lateness.Buckets {
		s.Poller.Lateness.Buckets = append(s.Poller.Lateness.Buckets, metrics.Bucket{Le: b.Le, Count: b.Count})
	}
	w := m.watch.Stats()
	s.Watches = metrics.Watches{Watches: w.Watches, Evaluations: w.Evaluations, Changes: w.Changes, Routine: w.Routine, SinkErrors: w.SinkErrors}
	sp := m.spool.Stats()
	s.Spool = metrics.Spool{Records: sp.Records, Bytes: sp.Bytes}
	for _, g := range m.send.Stats().Groups {
		s.Groups = append(s.Groups, metricsGroup(g, sp.Cursors[g.Cursor]))
	}
	return s
}

func metricsGroup(g spooler.GroupStats, cs spool.CursorStats) metrics.Group {
	mg := metrics.Group{Name: g.Cursor, Queued: cs.Pending, OldestUnsent: cs.Oldest, Sent: g.Sent,
		Reduced: g.Reduced, Stale: g.Stale, Undecodable: g.Undecodable, Invalid: g.Invalid, Refused: g.Refused, Unchanged: g.Unchanged,
		DroppedAge: cs.Dropped.Age, DroppedBytes: cs.Dropped.Bytes, DroppedCorrupt: cs.Dropped.Corrupt, LastSuccess: g.LastSuccess}
	for _, t := range g.Targets {
		mg.Targets = append(mg.Targets, metrics.Target{Name: t.Name, Sent: t.Sent, Failures: t.Failures, Refused: t.Refused,
			Up: t.Up, LastSuccess: t.LastSuccess, ClockOffset: t.ClockOffset, ClockKnown: t.ClockKnown})
	}
	return mg
}

// startMetrics serves the agent's metrics where cfg's [metrics] says, if
// it says. One that cannot listen (the port is in use) is logged and the
// agent runs on without: metrics are how people look in, not what the
// agent is for.
func (a *Agent) startMetrics(cfg *config.Config) {
	if a.metricsReg == nil {
		a.metricsReg = metrics.NewRegistry()
		src := metricsSource{poller: a.poller, watch: a.watch, send: a.send, spool: a.spool}
		a.metricsReg.MustRegister(metrics.NewAgentCollector(src.snapshot))
	}
	if !cfg.Metrics.On() {
		return
	}
	e, err := metrics.Start(context.Background(), cfg.Metrics.Listen, a.metricsReg, a.logger.With("component", "metrics"))
	if err != nil {
		a.logger.Error("metrics not served; the agent runs on without them (fix [metrics] listen and reload)", "config", cfg.File, "err", err)
		return
	}
	a.metrics = e
}

// reloadMetrics moves the endpoint when [metrics] listen changed, and
// tries again one that could not listen before.
func (a *Agent) reloadMetrics(old, cfg *config.Config) {
	if cfg.Metrics.Listen == old.Metrics.Listen && (a.metrics != nil || !cfg.Metrics.On()) {
		return
	}
	a.stopMetrics()
	a.startMetrics(cfg)
}

func (a *Agent) stopMetrics() {
	a.metrics.Stop()
	a.metrics = nil
}
