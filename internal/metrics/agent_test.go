package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAgentCollector(t *testing.T) {
	last := time.Unix(1700000000, 500000000)
	snap := Agent{
		Checks: []Check{
			{Host: "web01", Service: "disk", Ran: true, State: 2, LastRun: last, LastDuration: 1500 * time.Millisecond, Runs: 7, Skipped: 1, Late: 2},
			{Host: "web01", Service: "new", Running: true}, // never completed: no state, no last run
		},
		Poller: Poller{Checks: 2, Running: 1, Waiting: 0, Started: 8, Completed: 7, Skipped: 1, SinkErrors: 3,
			Lateness: Histogram{Count: 7, Sum: 3 * time.Second, Buckets: []Bucket{{0, 4}, {time.Second, 6}, {10 * time.Second, 7}}}},
		Watches: Watches{Watches: 1, Evaluations: 60, Changes: 2, Routine: 1},
		Spool:   Spool{Records: 12, Bytes: 4096},
		Groups: []Group{
			{Name: "group.central", Queued: 5, OldestUnsent: last, Sent: 40, Unchanged: 9, Refused: 1, DroppedAge: 2, LastSuccess: last,
				Targets: []Target{
					{Name: "nagios1:5667", Sent: 30, Failures: 4, Up: true, LastSuccess: last, ClockOffset: -2500 * time.Millisecond, ClockKnown: true},
					{Name: "nagios2:5667", Sent: 10, Refused: 1},
				}},
			{Name: "target.icinga_5665"}, // nothing queued, never reached
		},
	}
	c := NewAgentCollector(func() Agent { return snap })
	want := `
# HELP picket_check_state State of the check's last result: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
# TYPE picket_check_state gauge
picket_check_state{host="web01",service="disk"} 2
# HELP picket_check_last_duration_seconds How long the check's last run took.
# TYPE picket_check_last_duration_seconds gauge
picket_check_last_duration_seconds{host="web01",service="disk"} 1.5
# HELP picket_check_last_run_timestamp_seconds When the check's last run started.
# TYPE picket_check_last_run_timestamp_seconds gauge
picket_check_last_run_timestamp_seconds{host="web01",service="disk"} 1.7000000005e+09
# HELP picket_check_running 1 while the check runs.
# TYPE picket_check_running gauge
picket_check_running{host="web01",service="disk"} 0
picket_check_running{host="web01",service="new"} 1
# HELP picket_check_runs_total Runs of the check completed since it was applied.
# TYPE picket_check_runs_total counter
picket_check_runs_total{host="web01",service="disk"} 7
picket_check_runs_total{host="web01",service="new"} 0
# HELP picket_check_late_runs_total Runs of the check started more than a second after their due time.
# TYPE picket_check_late_runs_total counter
picket_check_late_runs_total{host="web01",service="disk"} 2
picket_check_late_runs_total{host="web01",service="new"} 0
# HELP picket_poller_lateness_seconds How late each run started after its due time.
# TYPE picket_poller_lateness_seconds histogram
picket_poller_lateness_seconds_bucket{le="0"} 4
picket_poller_lateness_seconds_bucket{le="1"} 6
picket_poller_lateness_seconds_bucket{le="10"} 7
picket_poller_lateness_seconds_bucket{le="+Inf"} 7
picket_poller_lateness_seconds_sum 3
picket_poller_lateness_seconds_count 7
# HELP picket_poller_sink_errors_total Results the poller could not store in the spool.
# TYPE picket_poller_sink_errors_total counter
picket_poller_sink_errors_total 3
# HELP picket_watch_results_total Results of watches handed on, by reason: change (the state changed) or interval (the check's interval came round).
# TYPE picket_watch_results_total counter
picket_watch_results_total{reason="change"} 2
picket_watch_results_total{reason="interval"} 1
# HELP picket_spool_records Records the spool retains.
# TYPE picket_spool_records gauge
picket_spool_records 12
# HELP picket_spool_queued Results in the spool not yet sent to the target group.
# TYPE picket_spool_queued gauge
picket_spool_queued{group="group.central"} 5
picket_spool_queued{group="target.icinga_5665"} 0
# HELP picket_spool_oldest_unsent_timestamp_seconds Time of the oldest result not yet sent to the target group; absent when none waits.
# TYPE picket_spool_oldest_unsent_timestamp_seconds gauge
picket_spool_oldest_unsent_timestamp_seconds{group="group.central"} 1.7000000005e+09
# HELP picket_group_last_success_timestamp_seconds When a batch last reached the target group.
# TYPE picket_group_last_success_timestamp_seconds gauge
picket_group_last_success_timestamp_seconds{group="group.central"} 1.7000000005e+09
# HELP picket_target_sent_total Results sent to the target.
# TYPE picket_target_sent_total counter
picket_target_sent_total{group="group.central",target="nagios1:5667"} 30
picket_target_sent_total{group="group.central",target="nagios2:5667"} 10
# HELP picket_target_up 1 when the last attempt on the target succeeded.
# TYPE picket_target_up gauge
picket_target_up{group="group.central",target="nagios1:5667"} 1
picket_target_up{group="group.central",target="nagios2:5667"} 0
# HELP picket_target_clock_offset_seconds The target's clock minus this host's, as its last connection showed it; absent when unknown.
# TYPE picket_target_clock_offset_seconds gauge
picket_target_clock_offset_seconds{group="group.central",target="nagios1:5667"} -2.5
`
	names := []string{"picket_check_state", "picket_check_last_duration_seconds", "picket_check_last_run_timestamp_seconds",
		"picket_check_running", "picket_check_runs_total", "picket_check_late_runs_total",
		"picket_poller_lateness_seconds", "picket_poller_sink_errors_total", "picket_watch_results_total",
		"picket_spool_records", "picket_spool_queued", "picket_spool_oldest_unsent_timestamp_seconds",
		"picket_group_last_success_timestamp_seconds", "picket_target_sent_total", "picket_target_up", "picket_target_clock_offset_seconds"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	notSent := `
# HELP picket_group_not_sent_total Results the target group's sender left out, by reason: reduced (replay policy), stale (a later result was sent), undecodable, invalid (names too long for NSCA), refused (by the target, for good), unchanged (send on change).
# TYPE picket_group_not_sent_total counter
picket_group_not_sent_total{group="group.central",reason="invalid"} 0
picket_group_not_sent_total{group="group.central",reason="reduced"} 0
picket_group_not_sent_total{group="group.central",reason="refused"} 1
picket_group_not_sent_total{group="group.central",reason="stale"} 0
picket_group_not_sent_total{group="group.central",reason="unchanged"} 9
picket_group_not_sent_total{group="group.central",reason="undecodable"} 0
picket_group_not_sent_total{group="target.icinga_5665",reason="invalid"} 0
picket_group_not_sent_total{group="target.icinga_5665",reason="reduced"} 0
picket_group_not_sent_total{group="target.icinga_5665",reason="refused"} 0
picket_group_not_sent_total{group="target.icinga_5665",reason="stale"} 0
picket_group_not_sent_total{group="target.icinga_5665",reason="unchanged"} 0
picket_group_not_sent_total{group="target.icinga_5665",reason="undecodable"} 0
# HELP picket_spool_dropped_total Results the spool dropped before the target group read them, by reason: age (max_age), bytes (max_bytes), corrupt.
# TYPE picket_spool_dropped_total counter
picket_spool_dropped_total{group="group.central",reason="age"} 2
picket_spool_dropped_total{group="group.central",reason="bytes"} 0
picket_spool_dropped_total{group="group.central",reason="corrupt"} 0
picket_spool_dropped_total{group="target.icinga_5665",reason="age"} 0
picket_spool_dropped_total{group="target.icinga_5665",reason="bytes"} 0
picket_spool_dropped_total{group="target.icinga_5665",reason="corrupt"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(notSent), "picket_group_not_sent_total", "picket_spool_dropped_total"); err != nil {
		t.Error(err)
	}
}

// TestAgentCollectorIsConsistent registers the collector as the agent
// does and gathers: every metric it sends must match a descriptor it
// declared, with no duplicate series, or the registry refuses the scrape.
func TestAgentCollectorIsConsistent(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewAgentCollector(func() Agent {
		return Agent{Checks: []Check{{Host: "h", Service: "a", Ran: true}, {Host: "h", Service: "b"}},
			Groups: []Group{{Name: "g", Queued: 1, OldestUnsent: time.Now(), LastSuccess: time.Now(),
				Targets: []Target{{Name: "t", LastSuccess: time.Now(), ClockKnown: true}}}}}
	}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != len(agentDescs) {
		t.Errorf("gathered %d families, declared %d", len(mfs), len(agentDescs))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "picket_") {
			t.Errorf("%s lacks the picket_ prefix", mf.GetName())
		}
	}
}
