package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/nsca"
	"github.com/picket-monitoring/picket/poller"
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

func result(i int) check.Result {
	return check.Result{Host: "web01", Service: "svc", State: check.State(i % 4), Output: fmt.Sprintf("result %d", i)}
}

func targets(addrs ...string) []config.Target {
	var ts []config.Target
	for _, a := range addrs {
		ts = append(ts, config.Target{Address: a, Method: nsca.None, Timeout: config.Duration{Duration: 2 * time.Second}})
	}
	return ts
}

func TestForwarderDeadTargetDoesNotDelayLiveOne(t *testing.T) {
	live := startReceiver(t, "127.0.0.1:0")
	dead := closedAddr(t)
	f, err := newForwarder(targets(dead, live.addr), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.start(ctx)
	for i := range 50 {
		f.Put(ctx, result(i))
	}
	got := live.wait(t, 50)
	for i, p := range got {
		if p.Output != fmt.Sprintf("result %d", i) || p.ReturnCode != int16(i%4) {
			t.Fatalf("packet %d = %+v: out of order or wrong", i, p)
		}
	}
	if n := f.senders[0].pending(); n != 50 {
		t.Errorf("dead target holds %d results, want all 50", n)
	}
	cancel()
	f.wait()
}

func TestForwarderCatchesUpAfterOutage(t *testing.T) {
	addr := closedAddr(t)
	f, err := newForwarder(targets(addr), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); f.wait() }()
	f.start(ctx)
	for i := range 300 {
		f.Put(ctx, result(i))
	}
	rcv := startReceiver(t, addr) // the server comes back on the same port
	got := rcv.wait(t, 300)
	if len(got) != 300 {
		t.Fatalf("received %d, want exactly 300", len(got))
	}
	for i, p := range got {
		if p.Output != fmt.Sprintf("result %d", i) {
			t.Fatalf("packet %d is %q: order lost across the outage", i, p.Output)
		}
	}
}

func TestForwarderQueueDropsOldestCounted(t *testing.T) {
	f, err := newForwarder(targets(closedAddr(t)), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for i := range queueLimit + 25 {
		f.Put(context.Background(), result(i))
	}
	s := f.senders[0]
	if s.pending() != queueLimit || s.dropped != 25 || s.first != 25 {
		t.Fatalf("pending %d dropped %d first %d; want %d, 25, 25", s.pending(), s.dropped, s.first, queueLimit)
	}
	if s.queue[0].Output != "result 25" {
		t.Errorf("oldest kept is %q, want result 25", s.queue[0].Output)
	}
}

func TestForwarderDrainSendsWhatIsLeft(t *testing.T) {
	rcv := startReceiver(t, "127.0.0.1:0")
	f, err := newForwarder(targets(rcv.addr), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 600 { // more than one batch
		f.Put(context.Background(), result(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.drain(ctx)
	rcv.wait(t, 600)
	if n := f.senders[0].pending(); n != 0 {
		t.Errorf("%d left after drain", n)
	}
}
