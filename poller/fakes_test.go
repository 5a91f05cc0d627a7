package poller

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/leaktest"
)

// TestMain fails the package if any goroutine of the poller outlives the
// tests, beyond what synctest's own check at the end of a bubble catches.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if g := leaktest.Find("github.com/picket-monitoring/picket/poller", 0); g != "" {
			os.Stderr.WriteString("leaked goroutine:\n" + g + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// run is one call of fakeRunner.Run.
type run struct {
	key     check.Key
	command string
	at      time.Time
}

// fakeRunner records runs. With gate set, each run waits for a value on
// it or for its context to end. states gives the result state of a key's
// n-th run (from 0); by default every run is OK.
type fakeRunner struct {
	gate   chan struct{}
	states map[check.Key][]check.State
	now    func() time.Time

	mu         sync.Mutex
	runs       []run
	inFlight   int
	maxFlight  int
	perKeyRuns map[check.Key]int
}

func (r *fakeRunner) Run(ctx context.Context, c check.Check) check.Result {
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	start := now()
	r.mu.Lock()
	if r.perKeyRuns == nil {
		r.perKeyRuns = map[check.Key]int{}
	}
	n := r.perKeyRuns[c.Key()]
	r.perKeyRuns[c.Key()]++
	r.runs = append(r.runs, run{c.Key(), c.Command, start})
	r.inFlight++
	r.maxFlight = max(r.maxFlight, r.inFlight)
	r.mu.Unlock()

	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
		}
	}
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()

	res := check.Result{Host: c.Host, Service: c.Service, Output: c.Command, CheckTime: start}
	if seq := r.states[c.Key()]; n < len(seq) {
		res.State = seq[n]
	}
	if ctx.Err() != nil {
		res.State, res.Output = check.Critical, "interrupted: "+c.Command
	}
	return res
}

func (r *fakeRunner) started() []run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]run(nil), r.runs...)
}

// startsOf returns the start times of one key's runs, as offsets from t0.
func (r *fakeRunner) startsOf(k check.Key, t0 time.Time) []time.Duration {
	var out []time.Duration
	for _, x := range r.started() {
		if x.key == k {
			out = append(out, x.at.Sub(t0))
		}
	}
	return out
}

// fakeSink records results and the state of the context each came with.
type fakeSink struct {
	err error

	mu      sync.Mutex
	results []check.Result
	ctxErrs []error
}

func (s *fakeSink) Put(ctx context.Context, r check.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, r)
	s.ctxErrs = append(s.ctxErrs, ctx.Err())
	return s.err
}

func (s *fakeSink) got() []check.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]check.Result(nil), s.results...)
}

var errSinkDown = errors.New("spool full")

// fakeClock is a Clock whose time moves only by Advance. Timers follow
// the Go 1.23 rules: Stop and Reset discard a value not yet received.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c      *fakeClock
	ch     chan time.Time
	when   time.Time
	active bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

// Advance moves the clock and fires every timer that comes due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

func (c *fakeClock) fireLocked() {
	for _, t := range c.timers {
		if t.active && !t.when.After(c.now) {
			t.active = false
			t.ch <- c.now // never blocks: drained whenever re-armed
		}
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	t.drain()
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.drain()
	t.when, t.active = t.c.now.Add(d), true
	t.c.fireLocked()
	return was
}

func (t *fakeTimer) drain() {
	select {
	case <-t.ch:
	default:
	}
}

// started runs p in the background; stop cancels it and returns Run's error.
func started(t *testing.T, p *Poller) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	return func() error {
		cancel()
		return <-errc
	}
}

func svc(name string, interval time.Duration) check.Check {
	return check.Check{Host: "web1", Service: name, Command: "check_" + name, Interval: interval}
}
