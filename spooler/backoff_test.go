package spooler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoffDoublesToCapWithHalfJitter(t *testing.T) {
	lowest := func(n int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	tests := []struct {
		n        int
		max      time.Duration
		low, top time.Duration
	}{
		{1, time.Minute, 500 * time.Millisecond, time.Second},
		{2, time.Minute, time.Second, 2 * time.Second},
		{3, time.Minute, 2 * time.Second, 4 * time.Second},
		{6, time.Minute, 16 * time.Second, 32 * time.Second},
		{7, time.Minute, 30 * time.Second, time.Minute}, // capped
		{1000, time.Minute, 30 * time.Second, time.Minute},
		{1, 100 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}, // cap below the first step
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n, "/", tt.max), func(t *testing.T) {
			if got := backoff(tt.n, tt.max, lowest); got != tt.low {
				t.Errorf("lowest jitter: %v, want %v", got, tt.low)
			}
			if got := backoff(tt.n, tt.max, highest); got != tt.top {
				t.Errorf("highest jitter: %v, want %v", got, tt.top)
			}
			// And the real source stays inside the bounds.
			for range 100 {
				if got := backoff(tt.n, tt.max, randInt64N); got < tt.low || got > tt.top {
					t.Fatalf("%v outside [%v, %v]", got, tt.low, tt.top)
				}
			}
		})
	}
	// The jitter spreads: a fleet losing the same server does not come back
	// in the same second.
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[backoff(7, time.Minute, randInt64N).Truncate(time.Second)] = true
	}
	if len(seen) < 5 {
		t.Errorf("50 retries fell into %d distinct seconds", len(seen))
	}
}

// deadDialer fails every dial at once, noting when.
type deadDialer struct {
	mu    sync.Mutex
	dials []time.Time
}

var errRefused = errors.New("connection refused")

func (d *deadDialer) Dial(ctx context.Context, addr string) (Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials = append(d.dials, time.Now())
	return nil, errRefused
}

func (d *deadDialer) times() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.dials...)
}

// A dead target is retried at growing intervals up to the cap, and only
// then: flush ticks and wake-ups in between do not dial it.
func TestDeadTargetRetriedAtGrowingIntervals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{}
		addNumbered(t, log, time.Now(), 0, 1)
		d := &deadDialer{}
		s := mustNew(t, Options{Log: log, MaxBackoff: 8 * time.Second, FlushInterval: 100 * time.Millisecond,
			Targets: []Target{{Group: "g", Address: "192.0.2.1:5667", Dialer: d}}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		// 40s hold at least 7 retries even at the top of the jitter:
		// gaps of 1, 2, 4, 8, 8, 8, 8 seconds.
		for range 40 {
			time.Sleep(time.Second)
			s.Wake()
		}
		synctest.Wait()
		st := groupStats(t, s, "g").Targets[0]
		cancel()
		<-done

		times := d.times()
		caps := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
		if len(times) < 8 {
			t.Fatalf("%d dials in 40s: %v", len(times), times)
		}
		for i := 1; i < len(times); i++ {
			gap := times[i].Sub(times[i-1])
			top := caps[min(i-1, len(caps)-1)]
			if gap < top/2 || gap > top {
				t.Errorf("retry %d came %v after the one before, want [%v, %v]", i, gap, top/2, top)
			}
		}
		if st.Failures != uint64(len(times)) || st.Up || !st.NextTry.After(times[len(times)-1]) {
			t.Errorf("target stats %+v after %d dials", st, len(times))
		}
	})
}

// slowConn takes a packet every 10ms, like a receiver busy with a slow
// cipher and other agents, and records what it took.
type slowConn struct {
	mu  *sync.Mutex
	got *[]string
}

func (c slowConn) SendBatch(ctx context.Context, ps []Item) (int, error) {
	for i, p := range ps {
		select {
		case <-ctx.Done():
			return i, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		c.mu.Lock()
		*c.got = append(*c.got, p.Result.PluginOutput())
		c.mu.Unlock()
	}
	return len(ps), nil
}

func (slowConn) Close() error { return nil }

type slowDialer struct {
	mu  sync.Mutex
	got []string
}

func (d *slowDialer) Dial(context.Context, string) (Conn, error) {
	return slowConn{&d.mu, &d.got}, nil
}

// A target too slow for the batch size gets smaller batches, each batch
// that ran out of time still counting what it wrote, and nothing is lost
// or repeated.
func TestBatchShrinksWhenItRunsOutOfTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{}
		var logs logBuffer
		last := addNumbered(t, log, time.Now(), 0, 1000)
		d := &slowDialer{}
		s := mustNew(t, Options{Log: log, BatchSize: 500, SendTimeout: time.Second, MaxBackoff: time.Second,
			Logger: logs.logger(), Targets: []Target{{Group: "g", Address: "slow:5667", Dialer: d}}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		for log.Position("g") != last {
			time.Sleep(time.Second)
		}
		cancel()
		<-done
		d.mu.Lock()
		wantNumbered(t, "slow target", d.got, 0, 1000)
		d.mu.Unlock()
		if c := logs.count("smaller batches"); c < 3 {
			t.Errorf("batch halved %d times, want 500 -> 250 -> 125 -> 62\n%s", c, logs.String())
		}
	})
}

// slowDialDialer's dials hang until their context ends, like a server
// behind a firewall that drops packets.
type slowDialDialer struct{ dials atomic.Int32 }

func (d *slowDialDialer) Dial(ctx context.Context, _ string) (Conn, error) {
	d.dials.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}

// A dial that times out is a dead target, not a sign that batches are too
// big: the batch keeps its size.
func TestDialTimeoutKeepsBatchSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &memLog{}
		addNumbered(t, log, time.Now(), 0, 10)
		d := &slowDialDialer{}
		s := mustNew(t, Options{Log: log, BatchSize: 100, SendTimeout: time.Second,
			Targets: []Target{{Group: "g", Address: "192.0.2.1:5667", Dialer: d}}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		time.Sleep(time.Minute)
		cancel()
		<-done
		if n := d.dials.Load(); n < 3 {
			t.Fatalf("%d dials in a minute", n)
		}
		if lim := s.groups[0].targets[0].limit; lim != 100 {
			t.Errorf("batch limit %d after dial timeouts, want 100", lim)
		}
		if st := groupStats(t, s, "g").Targets[0]; !strings.Contains(st.LastError, "deadline exceeded") {
			t.Errorf("last error %q", st.LastError)
		}
	})
}
