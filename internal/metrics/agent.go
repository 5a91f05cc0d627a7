package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Agent is what the agent's collector reads on each scrape: one snapshot,
// taken when Prometheus asks.
type Agent struct {
	Checks  []Check // polled and watched, each once
	Poller  Poller
	Watches Watches
	Spool   Spool
	Groups  []Group
}

// Check is one check as the poller (or the watcher) last saw it.
type Check struct {
	Host, Service string
	// Ran is false until the check's first run completes: its state and
	// last run are not exported before, since none is known.
	Ran          bool
	State        int // 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
	LastRun      time.Time
	LastDuration time.Duration
	Running      bool
	// Counters since the check was applied (a reload that changes it
	// starts them again, which Prometheus reads as a counter reset).
	Runs, Skipped, Late uint64
}

// Poller is the poller's own figures.
type Poller struct {
	Checks, Running, Waiting                int
	Started, Completed, Skipped, SinkErrors uint64
	Lateness                                Histogram
}

// Histogram is a cumulative histogram of durations.
type Histogram struct {
	Count   uint64
	Sum     time.Duration
	Buckets []Bucket // cumulative, ascending Le
}

// Bucket counts the observations at most Le.
type Bucket struct {
	Le    time.Duration
	Count uint64
}

// Watches is the in-process watcher's figures.
type Watches struct {
	Watches                                   int
	Evaluations, Changes, Routine, SinkErrors uint64
}

// Spool is the disk spool as a whole.
type Spool struct {
	Records uint64
	Bytes   int64
}

// Group is one target group: one position in the spool, one failover
// chain.
type Group struct {
	Name         string // the spool cursor: "target.<address>" or "group.<name>"
	Queued       uint64 // in the spool, not yet sent to this group
	OldestUnsent time.Time
	Sent         uint64
	// Not sent, by reason (see spooler.GroupStats).
	Reduced, Stale, Undecodable, Invalid, Refused, Unchanged uint64
	// Dropped by the spool before this group read them, by reason.
	DroppedAge, DroppedBytes, DroppedCorrupt uint64
	LastSuccess                              time.Time
	Targets                                  []Target
}

// Target is one target of a group.
type Target struct {
	Name                    string
	Sent, Failures, Refused uint64
	Up                      bool
	LastSuccess             time.Time
	ClockOffset             time.Duration
	ClockKnown              bool
}

var (
	checkLabels  = []string{"host", "service"}
	groupLabels  = []string{"group"}
	targetLabels = []string{"group", "target"}

	checkState    = desc("picket_check_state", "State of the check's last result: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", checkLabels...)
	checkDuration = desc("picket_check_last_duration_seconds", "How long the check's last run took.", checkLabels...)
	checkLastRun  = desc("picket_check_last_run_timestamp_seconds", "When the check's last run started.", checkLabels...)
	checkRunning  = desc("picket_check_running", "1 while the check runs.", checkLabels...)
	checkRuns     = desc("picket_check_runs_total", "Runs of the check completed since it was applied.", checkLabels...)
	checkSkipped  = desc("picket_check_skipped_runs_total", "Due times of the check that passed while its previous run was not done.", checkLabels...)
	checkLate     = desc("picket_check_late_runs_total", "Runs of the check started more than a second after their due time.", checkLabels...)

	pollerChecks     = desc("picket_poller_checks", "Checks the poller schedules.")
	pollerRunning    = desc("picket_poller_running", "Plugins running now.")
	pollerWaiting    = desc("picket_poller_waiting", "Checks due and waiting for a free slot (concurrency).")
	pollerStarted    = desc("picket_poller_runs_started_total", "Check runs started.")
	pollerCompleted  = desc("picket_poller_runs_completed_total", "Check runs completed.")
	pollerSkipped    = desc("picket_poller_runs_skipped_total", "Due times that passed while the check was still running or waiting.")
	pollerSinkErrors = desc("picket_poller_sink_errors_total", "Results the poller could not store in the spool.")
	pollerLateness   = desc("picket_poller_lateness_seconds", "How late each run started after its due time.")

	watches          = desc("picket_watches", "Checks evaluated in-process as watches.")
	watchEvaluations = desc("picket_watch_evaluations_total", "Evaluations of watches.")
	watchResults     = desc("picket_watch_results_total", "Results of watches handed on, by reason: change (the state changed) or interval (the check's interval came round).", "reason")
	watchSinkErrors  = desc("picket_watch_sink_errors_total", "Results of watches that could not be stored in the spool.")

	spoolRecords = desc("picket_spool_records", "Records the spool retains.")
	spoolBytes   = desc("picket_spool_bytes", "Size of the spool's segment files.")
	spoolQueued  = desc("picket_spool_queued", "Results in the spool not yet sent to the target group.", groupLabels...)
	spoolOldest  = desc("picket_spool_oldest_unsent_timestamp_seconds", "Time of the oldest result not yet sent to the target group; absent when none waits.", groupLabels...)
	spoolDropped = desc("picket_spool_dropped_total", "Results the spool dropped before the target group read them, by reason: age (max_age), bytes (max_bytes), corrupt.", "group", "reason")

	groupSent        = desc("picket_group_sent_total", "Results sent to the target group.", groupLabels...)
	groupNotSent     = desc("picket_group_not_sent_total", "Results the target group's sender left out, by reason: reduced (replay policy), stale (a later result was sent), undecodable, invalid (names too long for NSCA), refused (by the target, for good), unchanged (send on change).", "group", "reason")
	groupLastSuccess = desc("picket_group_last_success_timestamp_seconds", "When a batch last reached the target group.", groupLabels...)

	targetSent        = desc("picket_target_sent_total", "Results sent to the target.", targetLabels...)
	targetFailures    = desc("picket_target_failures_total", "Failed batches to the target, failed connections included.", targetLabels...)
	targetRefused     = desc("picket_target_refused_total", "Results the target refused for good.", targetLabels...)
	targetUp          = desc("picket_target_up", "1 when the last attempt on the target succeeded.", targetLabels...)
	targetLastSuccess = desc("picket_target_last_success_timestamp_seconds", "When a batch last reached the target.", targetLabels...)
	targetClock       = desc("picket_target_clock_offset_seconds", "The target's clock minus this host's, as its last connection showed it; absent when unknown.", targetLabels...)

	agentDescs = []*prometheus.Desc{checkState, checkDuration, checkLastRun, checkRunning, checkRuns, checkSkipped, checkLate,
		pollerChecks, pollerRunning, pollerWaiting, pollerStarted, pollerCompleted, pollerSkipped, pollerSinkErrors, pollerLateness,
		watches, watchEvaluations, watchResults, watchSinkErrors,
		spoolRecords, spoolBytes, spoolQueued, spoolOldest, spoolDropped,
		groupSent, groupNotSent, groupLastSuccess,
		targetSent, targetFailures, targetRefused, targetUp, targetLastSuccess, targetClock}
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// NewAgentCollector returns a collector that calls snapshot on each
// scrape. snapshot is called from the scraping goroutine.
func NewAgentCollector(snapshot func() Agent) prometheus.Collector {
	return agentCollector(snapshot)
}

type agentCollector func() Agent

func (agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range agentDescs {
		ch <- d
	}
}

func (c agentCollector) Collect(ch chan<- prometheus.Metric) {
	s := c()
	for _, k := range s.Checks {
		collectCheck(ch, k)
	}
	collectPoller(ch, s.Poller, s.Watches)
	ch <- gauge(spoolRecords, float64(s.Spool.Records))
	ch <- gauge(spoolBytes, float64(s.Spool.Bytes))
	for _, g := range s.Groups {
		collectGroup(ch, g)
	}
}

func collectCheck(ch chan<- prometheus.Metric, k Check) {
	l := []string{k.Host, k.Service}
	if k.Ran {
		ch <- gauge(checkState, float64(k.State), l...)
		ch <- gauge(checkDuration, k.LastDuration.Seconds(), l...)
		ch <- gauge(checkLastRun, unix(k.LastRun), l...)
	}
	ch <- gauge(checkRunning, bool01(k.Running), l...)
	ch <- counter(checkRuns, k.Runs, l...)
	ch <- counter(checkSkipped, k.Skipped, l...)
	ch <- counter(checkLate, k.Late, l...)
}

func collectPoller(ch chan<- prometheus.Metric, p Poller, w Watches) {
	ch <- gauge(pollerChecks, float64(p.Checks))
	ch <- gauge(pollerRunning, float64(p.Running))
	ch <- gauge(pollerWaiting, float64(p.Waiting))
	ch <- counter(pollerStarted, p.Started)
	ch <- counter(pollerCompleted, p.Completed)
	ch <- counter(pollerSkipped, p.Skipped)
	ch <- counter(pollerSinkErrors, p.SinkErrors)
	ch <- histogram(pollerLateness, p.Lateness)
	ch <- gauge(watches, float64(w.Watches))
	ch <- counter(watchEvaluations, w.Evaluations)
	ch <- counter(watchResults, w.Changes, "change")
	ch <- counter(watchResults, w.Routine, "interval")
	ch <- counter(watchSinkErrors, w.SinkErrors)
}

func collectGroup(ch chan<- prometheus.Metric, g Group) {
	ch <- gauge(spoolQueued, float64(g.Queued), g.Name)
	if g.Queued > 0 && !g.OldestUnsent.IsZero() {
		ch <- gauge(spoolOldest, unix(g.OldestUnsent), g.Name)
	}
	for _, r := range []struct {
		reason string
		n      uint64
	}{{"age", g.DroppedAge}, {"bytes", g.DroppedBytes}, {"corrupt", g.DroppedCorrupt}} {
		ch <- counter(spoolDropped, r.n, g.Name, r.reason)
	}
	ch <- counter(groupSent, g.Sent, g.Name)
	for _, r := range []struct {
		reason string
		n      uint64
	}{{"reduced", g.Reduced}, {"stale", g.Stale}, {"undecodable", g.Undecodable},
		{"invalid", g.Invalid}, {"refused", g.Refused}, {"unchanged", g.Unchanged}} {
		ch <- counter(groupNotSent, r.n, g.Name, r.reason)
	}
	if !g.LastSuccess.IsZero() {
		ch <- gauge(groupLastSuccess, unix(g.LastSuccess), g.Name)
	}
	for _, t := range g.Targets {
		l := []string{g.Name, t.Name}
		ch <- counter(targetSent, t.Sent, l...)
		ch <- counter(targetFailures, t.Failures, l...)
		ch <- counter(targetRefused, t.Refused, l...)
		ch <- gauge(targetUp, bool01(t.Up), l...)
		if !t.LastSuccess.IsZero() {
			ch <- gauge(targetLastSuccess, unix(t.LastSuccess), l...)
		}
		if t.ClockKnown {
			ch <- gauge(targetClock, t.ClockOffset.Seconds(), l...)
		}
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v uint64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func histogram(d *prometheus.Desc, h Histogram) prometheus.Metric {
	b := make(map[float64]uint64, len(h.Buckets))
	for _, x := range h.Buckets {
		b[x.Le.Seconds()] = x.Count
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), b)
}

// unix is t as Prometheus timestamps go: seconds since the epoch.
func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
