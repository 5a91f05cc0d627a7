package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/internal/tomlfile"
	"github.com/picket-monitoring/picket/nsca"
	"github.com/picket-monitoring/picket/plugins"
	"github.com/picket-monitoring/picket/poller"
	"github.com/picket-monitoring/picket/spooler"
)

func TestPollerHealth(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	base := poller.Stats{Scheduled: 12, Started: 100, Completed: 100}
	tests := []struct {
		name  string
		cur   poller.Stats
		state check.State
		has   string
	}{
		{"healthy", poller.Stats{Scheduled: 12, Started: 160, Completed: 160}, check.OK, "POLLER OK - 12 checks, 60 runs in the last 5m"},
		{"skipped", poller.Stats{Scheduled: 12, Started: 150, Skipped: 3}, check.Warning, "POLLER WARNING - 3 runs skipped"},
		{"sink failing", poller.Stats{Scheduled: 12, Started: 150, Skipped: 1, SinkErrors: 7}, check.Critical, "POLLER CRITICAL - 7 results could not be stored; 1 runs skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := pollerHealth("web01", "picket_poller", base, tt.cur, now, 5*time.Minute)
			if r.State != tt.state || r.ExitCode != int(tt.state) || !strings.HasPrefix(r.Output, tt.has) {
				t.Errorf("got %v %q, want %v %q...", r.State, r.Output, tt.state, tt.has)
			}
			if r.Host != "web01" || r.Service != "picket_poller" || !r.CheckTime.Equal(now) {
				t.Errorf("reported as %s/%s at %v", r.Host, r.Service, r.CheckTime)
			}
			if len(r.Perfdata) == 0 || r.Perfdata[0].Label != "checks" {
				t.Errorf("perfdata = %v", r.Perfdata)
			}
		})
	}
}

// receiver is an in-process NSCA server collecting what it receives.
type receiver struct {
	mu   sync.Mutex
	got  []nsca.Packet
	addr string
	stop func()
}

func startReceiver(t *testing.T, addr string) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{addr: ln.Addr().String()}
	srv := &nsca.Server{Method: nsca.None, Handler: nsca.HandlerFunc(func(_ context.Context, p nsca.Received) {
		r.mu.Lock()
		r.got = append(r.got, p.Packet)
		r.mu.Unlock()
	})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) wait(t *testing.T, n int) []nsca.Packet {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r.mu.Lock()
		got := append([]nsca.Packet(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d of %d results", r.addr, len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// skewed is g with its first target's clock off by d.
func skewed(g spooler.GroupStats, d time.Duration) spooler.GroupStats {
	g.Targets[0].ClockOffset, g.Targets[0].ClockKnown = d, true
	return g
}

func TestSpoolerHealth(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	cfg := &config.Config{Hostname: "web01", Health: config.Health{SpoolerService: "picket_spooler",
		BacklogWarning: tomlfile.Duration{Duration: 10 * time.Minute}, BacklogCritical: tomlfile.Duration{Duration: time.Hour},
		ClockSkewWarning: tomlfile.Duration{Duration: time.Minute}},
		Spool: config.Spool{MaxBytes: 1000}}
	group := func(active string, names ...string) spooler.GroupStats {
		g := spooler.GroupStats{Cursor: "group.dc1", Active: active, Sent: 42}
		for _, n := range names {
			g.Targets = append(g.Targets, spooler.TargetStats{Name: n, Address: n})
		}
		return g
	}
	checked := now.Add(-3 * time.Hour)
	lost := []LossEvent{{Reason: "older than spool.max_age", Target: "group.dc1", Results: 5, From: checked, To: checked.Add(time.Minute), First: now, Last: now}}
	tests := []struct {
		name     string
		cursor   spool.CursorStats
		bytes    int64
		group    spooler.GroupStats
		lost     []LossEvent
		storeErr error
		state    check.State
		has      string
	}{
		{"healthy", spool.CursorStats{Pending: 0}, 100, group("a:1", "a:1", "b:1"), nil, nil, check.OK, "SPOOLER OK - a:1/b:1 0 queued, 42 sent"},
		{"backlog warning", spool.CursorStats{Pending: 7, Oldest: now.Add(-11 * time.Minute)}, 100, group("a:1", "a:1"), nil, nil, check.Warning, "SPOOLER WARNING - a:1: oldest unsent result is 11m old"},
		{"backlog critical", spool.CursorStats{Pending: 7, Oldest: now.Add(-2 * time.Hour)}, 100, group("", "a:1"), nil, nil, check.Critical, "SPOOLER CRITICAL - a:1: oldest unsent result is 2h old"},
		{"failover", spool.CursorStats{}, 100, group("b:1", "a:1", "b:1"), nil, nil, check.Warning, "SPOOLER WARNING - a:1/b:1: primary a:1 down, sending to b:1"},
		{"lost", spool.CursorStats{Dropped: spool.Drops{Age: 5}}, 100, group("a:1", "a:1"), lost, nil, check.Critical,
			"SPOOLER CRITICAL - 5 results lost: 5 older than spool.max_age (a:1, checked 2026-11-21 07:00:00Z to 07:01:00Z); `picket spool ack` once seen"},
		{"disk full", spool.CursorStats{}, 100, group("a:1", "a:1"), nil, syscall.ENOSPC, check.Critical, "SPOOLER CRITICAL - the spool cannot store results: disk full"},
		{"nearly full", spool.CursorStats{}, 850, group("a:1", "a:1"), nil, nil, check.Warning, "SPOOLER WARNING - spool 85% full (850 of 1000 bytes)"},
		{"clock skew", spool.CursorStats{}, 100, skewed(group("a:1", "a:1"), -3*time.Minute), nil, nil, check.Warning,
			"SPOOLER WARNING - a:1's clock is 3m behind this host's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newSpoolerHealth(cfg)
			sp := spool.Stats{Bytes: tt.bytes, Cursors: map[string]spool.CursorStats{"group.dc1": tt.cursor}}
			r := h.report(now, sp, spooler.Stats{Groups: []spooler.GroupStats{tt.group}}, tt.lost, tt.storeErr)
			if r.State != tt.state || r.ExitCode != int(tt.state) || !strings.HasPrefix(r.Output, tt.has) {
				t.Errorf("got %v %q, want %v %q...", r.State, r.Output, tt.state, tt.has)
			}
			if r.Host != "web01" || r.Service != "picket_spooler" {
				t.Errorf("reported as %s/%s", r.Host, r.Service)
			}
		})
	}
}

// A loss stays on the spooler's service until loss_alert has passed or an
// administrator acknowledged it, across restarts of the agent; losses that
// come in a burst make one line; a loss is never counted twice.
func TestLossLedger(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	l := openLossLedger(dir)
	full := fmt.Errorf("append: %w", syscall.ENOSPC)
	for i := range 300 {
		at := now.Add(time.Duration(i) * time.Second)
		l.notStored(full, at.Add(-time.Second), at)
	}
	l.notStored(errors.New("spool closed"), now, now.Add(time.Hour)) // another reason
	if err := l.save(now.Add(time.Hour), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	l = openLossLedger(dir) // a restart remembers
	act := l.active(now.Add(2*time.Hour), 24*time.Hour)
	if len(act) != 2 || act[0].Reason != "not stored: disk full" || act[0].Results != 300 ||
		!act[0].From.Equal(now.Add(-time.Second)) || !act[0].To.Equal(now.Add(298*time.Second)) {
		t.Fatalf("active after restart: %+v", act)
	}
	if act := l.active(now.Add(24*time.Hour+30*time.Minute), 24*time.Hour); len(act) != 1 {
		t.Errorf("after loss_alert the first burst should be over: %+v", act)
	}
	if err := Acknowledge(dir, now.Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if act := l.active(now.Add(2*time.Hour), 24*time.Hour); len(act) != 0 {
		t.Errorf("acknowledged, still active: %+v", act)
	}
	events, acked, err := LoadLosses(dir)
	if err != nil || len(events) != 2 || !acked.Equal(now.Add(90*time.Minute)) {
		t.Errorf("LoadLosses = %d events, acked %v, %v", len(events), acked, err)
	}
}

// The config shows users the defaults the components apply to a zero
// setting; the two must not drift apart.
func TestConfigDefaultsAreTheComponents(t *testing.T) {
	if config.DefaultMaxOutput != plugins.DefaultMaxOutput {
		t.Errorf("max_output default: config %d, plugins %d", config.DefaultMaxOutput, plugins.DefaultMaxOutput)
	}
	if config.DefaultKillGrace != plugins.DefaultKillGrace {
		t.Errorf("kill_grace default: config %v, plugins %v", config.DefaultKillGrace, plugins.DefaultKillGrace)
	}
	if config.DefaultConcurrency() != poller.DefaultConcurrency() {
		t.Errorf("concurrency default: config %d, poller %d", config.DefaultConcurrency(), poller.DefaultConcurrency())
	}
}
