package poller

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

type nopRunner struct{}

func (nopRunner) Run(_ context.Context, c check.Check) check.Result {
	return check.Result{Host: c.Host, Service: c.Service}
}

// countSink signals when it has seen a given number of results.
type countSink struct {
	mu      sync.Mutex
	n       int
	target  int
	reached chan struct{}
}

func (s *countSink) Put(context.Context, check.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.n == s.target {
		close(s.reached)
	}
	return nil
}

func (s *countSink) expect(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target, s.reached = s.n+n, make(chan struct{})
	return s.reached
}

// BenchmarkPollerOverhead measures the poller's own cost per scheduled run
// (heap, dispatch, goroutine, Put) with a runner and a sink that do
// nothing: each iteration moves a fake clock one second, making 1,000
// one-second checks due, and waits until all 1,000 results are in.
func BenchmarkPollerOverhead(b *testing.B) {
	const checks = 1000
	clk := &fakeClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	sink := &countSink{}
	p := New(Options{Runner: nopRunner{}, Sink: sink, Clock: clk, Concurrency: 64})
	list := make([]check.Check, checks)
	for i := range list {
		list[i] = check.Check{Host: "bench", Service: fmt.Sprint(i), Interval: time.Second}
	}
	if err := p.Apply(list); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitIdle(p, 0, checks)
	b.ReportAllocs()
	b.ResetTimer()
	var completed uint64
	for b.Loop() {
		reached := sink.expect(checks)
		clk.Advance(time.Second)
		<-reached
		completed += checks
		// Advancing the fake clock while the loop is still arming its
		// timer would make it miss the next second, so wait until it is idle.
		waitIdle(p, completed, checks)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*checks)/b.Elapsed().Seconds(), "runs/s")
	cancel()
	<-done
}

// waitIdle waits until the loop has taken n checks, completed the given
// number of runs and armed its timer.
func waitIdle(p *Poller, completed uint64, n int) {
	for {
		st := p.Stats()
		if st.Scheduled == n && st.Completed == completed && st.Running == 0 {
			return
		}
		runtime.Gosched()
	}
}
