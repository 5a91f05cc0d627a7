package agent

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/picket-monitoring/picket/internal/metricstest"
)

const critCheck = `
[[check]]
service = "crit"
command = "echo 'DISK CRITICAL - / is full'; exit 2"
shell = true
interval = "1s"

[health]
enabled = false
`

func metricsSection(addr string) string {
	if addr == "" {
		return ""
	}
	return "\n[metrics]\nlisten = \"" + addr + "\"\n"
}

// lockedBuffer is a log the test reads while the agent writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAgentLogging is startAgent with the agent's log in logs.
func startAgentLogging(t *testing.T, cfg string, logs *lockedBuffer) *Agent {
	t.Helper()
	a, err := New(Options{ConfigPath: cfg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a
}

// refuses reports whether nothing listens on addr.
func refuses(addr string) bool {
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
	}
	return err != nil
}

// A running agent's /metrics shows what its poller, spooler and spool
// know: a CRITICAL check's state, its runs, and the results the target
// received.
func TestMetricsShowChecksAndDelivery(t *testing.T) {
	dir := t.TempDir()
	rcv := startReceiver(t, "127.0.0.1:0")
	maddr := closedAddr(t)
	a := startAgent(t, writeConfig(t, dir, rcv.addr, critCheck+metricsSection(maddr)))
	url := "http://" + maddr + "/metrics"
	rcv.wait(t, 2)

	check := `{host="web01",service="crit"}`
	target := `{group="` + a.Config().Targets[0].Cursor() + `",target="` + rcv.addr + `"}`
	metricstest.Wait(t, url, "picket_check_state"+check, metricstest.Is(2))
	metricstest.Wait(t, url, "picket_target_sent_total"+target, metricstest.AtLeast(2))
	_, body := metricstest.Wait(t, url, "picket_check_runs_total"+check, metricstest.AtLeast(2))
	for _, s := range []struct {
		series string
		ok     func(float64) bool
	}{
		{"picket_check_last_duration_seconds" + check, func(v float64) bool { return v > 0 && v < 30 }},
		{"picket_check_last_run_timestamp_seconds" + check, func(v float64) bool { return v > 1.7e9 }},
		{"picket_target_up" + target, metricstest.Is(1)},
		{"picket_target_failures_total" + target, metricstest.Is(0)},
		{`picket_spool_queued{group="` + a.Config().Targets[0].Cursor() + `"}`, metricstest.AtLeast(0)},
		{"picket_spool_records", metricstest.AtLeast(2)},
		{"picket_poller_checks", metricstest.Is(1)},
		{"picket_poller_runs_completed_total", metricstest.AtLeast(2)},
		{"picket_poller_lateness_seconds_count", metricstest.AtLeast(2)},
		{`picket_poller_lateness_seconds_bucket{le="+Inf"}`, metricstest.AtLeast(2)},
	} {
		if v, found := metricstest.Value(body, s.series); !found || !s.ok(v) {
			t.Errorf("%s = %v (present: %v)", s.series, v, found)
		}
	}
}

// A reload turns metrics on, moves them, and turns them off.
func TestMetricsFollowReload(t *testing.T) {
	dir := t.TempDir()
	rcv := startReceiver(t, "127.0.0.1:0")
	cfg := writeConfig(t, dir, rcv.addr, critCheck)
	a := startAgent(t, cfg)
	if a.metrics != nil {
		t.Fatal("metrics served without [metrics]")
	}
	first, second := closedAddr(t), closedAddr(t)
	for _, step := range []struct{ listen, closed string }{{first, ""}, {second, first}, {"", second}} {
		writeConfig(t, dir, rcv.addr, critCheck+metricsSection(step.listen))
		if err := a.Reload(""); err != nil {
			t.Fatal(err)
		}
		if step.listen != "" {
			metricstest.Wait(t, "http://"+step.listen+"/metrics", `picket_check_runs_total{host="web01",service="crit"}`, metricstest.AtLeast(0))
		}
		if step.closed != "" && !refuses(step.closed) {
			t.Errorf("after moving to %q, %s still listens", step.listen, step.closed)
		}
	}
	if a.metrics != nil {
		t.Error("metrics still served after a reload removed [metrics]")
	}
}

// An address in use is logged and the agent runs its checks and sends
// their results all the same; a reload tries the address again.
func TestMetricsAddressInUseDoesNotStopTheAgent(t *testing.T) {
	dir := t.TempDir()
	rcv := startReceiver(t, "127.0.0.1:0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	maddr := ln.Addr().String()
	var logs lockedBuffer
	a := startAgentLogging(t, writeConfig(t, dir, rcv.addr, critCheck+metricsSection(maddr)), &logs)
	if got := rcv.wait(t, 2); got[0].Service != "crit" || got[0].ReturnCode != 2 {
		t.Errorf("first result: %+v", got[0])
	}
	if l := logs.String(); !strings.Contains(l, "metrics not served") || !strings.Contains(l, maddr) {
		t.Errorf("the log does not say metrics are not served on %s:\n%s", maddr, l)
	}
	ln.Close()
	if err := a.Reload(""); err != nil {
		t.Fatal(err)
	}
	metricstest.Wait(t, "http://"+maddr+"/metrics", `picket_check_state{host="web01",service="crit"}`, metricstest.Is(2))
}

// The snapshot the collector reads is what the running poller, watcher,
// spooler and spool hold.
func TestMetricsSnapshotReadsTheRunningParts(t *testing.T) {
	dir := t.TempDir()
	rcv := startReceiver(t, "127.0.0.1:0")
	a := startAgent(t, writeConfig(t, dir, rcv.addr, critCheck))
	rcv.wait(t, 1)
	s := metricsSource{poller: a.poller, watch: a.watch, send: a.send, spool: a.spool}.snapshot()
	if len(s.Checks) != 1 || s.Checks[0].Service != "crit" || !s.Checks[0].Ran || s.Checks[0].State != 2 {
		t.Errorf("checks: %+v", s.Checks)
	}
	if len(s.Groups) != 1 || len(s.Groups[0].Targets) != 1 || s.Groups[0].Targets[0].Name != rcv.addr {
		t.Errorf("groups: %+v", s.Groups)
	}
	if len(s.Poller.Lateness.Buckets) == 0 || s.Poller.Lateness.Count == 0 {
		t.Errorf("lateness: %+v", s.Poller.Lateness)
	}
}
