package poller

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/schedule"
)

// Inside a synctest bubble time starts at 2000-01-01 00:00 UTC, a whole
// number of minutes since the epoch, and moves only when every goroutine
// waits, so start times are exact.

func TestIntervalCheckRunsAtItsPhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		r, s := &fakeRunner{}, &fakeSink{}
		p := New(Options{Runner: r, Sink: s})
		c := svc("disk", time.Minute)
		if err := p.Apply([]check.Check{c}); err != nil {
			t.Fatal(err)
		}
		stop := started(t, p)
		off := schedule.Offset(c.Key(), time.Minute)
		time.Sleep(off + 3*time.Minute + time.Second)
		synctest.Wait()
		want := []time.Duration{off, off + time.Minute, off + 2*time.Minute, off + 3*time.Minute}
		if got := r.startsOf(c.Key(), t0); !slices.Equal(got, want) {
			t.Errorf("runs at %v, want %v", got, want)
		}
		st := p.Stats()
		if st.Scheduled != 1 || st.Started != 4 || st.Completed != 4 || st.Lateness.Count != 4 || st.Lateness.Max != 0 {
			t.Errorf("stats %+v", st)
		}
		if len(s.got()) != 4 {
			t.Errorf("sink got %d results, want 4", len(s.got()))
		}
		if err := stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
}

func TestCronCheckRunsAtCronTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		r := &fakeRunner{}
		p := New(Options{Runner: r, Sink: &fakeSink{}})
		c := check.Check{Host: "web1", Service: "backup", Cron: "CRON_TZ=UTC */5 * * * *"}
		if err := p.Apply([]check.Check{c}); err != nil {
			t.Fatal(err)
		}
		stop := started(t, p)
		time.Sleep(16 * time.Minute)
		want := []time.Duration{5 * time.Minute, 10 * time.Minute, 15 * time.Minute}
		if got := r.startsOf(c.Key(), t0); !slices.Equal(got, want) {
			t.Errorf("runs at %v, want %v", got, want)
		}
		stop()
	})
}

// Nagios retries: a non-OK result in a soft state reruns RetryInterval
// after completion; the MaxAttempts-th non-OK result is hard and returns
// to the interval; OK resets the attempt count.
func TestRetriesFollowNagios(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := svc("http", time.Minute)
		c.MaxAttempts, c.RetryInterval = 3, 10*time.Second
		O, C := check.OK, check.Critical
		r := &fakeRunner{states: map[check.Key][]check.State{c.Key(): {O, C, C, C, C, O, C, O, O}}}
		p := New(Options{Runner: r, Sink: &fakeSink{}})
		if err := p.Apply([]check.Check{c}); err != nil {
			t.Fatal(err)
		}
		stop := started(t, p)
		off := schedule.Offset(c.Key(), time.Minute)
		time.Sleep(off + 5*time.Minute + time.Second)
		stop()
		s := time.Second
		want := []time.Duration{
			0,       // OK
			60 * s,  // CRITICAL, attempt 1 (soft)
			70 * s,  // CRITICAL, attempt 2 (soft)
			80 * s,  // CRITICAL, attempt 3: hard, back to the interval
			120 * s, // CRITICAL, still hard
			180 * s, // OK
			240 * s, // CRITICAL, attempt 1 (soft)
			250 * s, // OK: recovered, back to the interval
			300 * s,
		}
		if got := r.startsOf(c.Key(), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(off)); !slices.Equal(got, want) {
			t.Errorf("runs at %v, want %v", got, want)
		}
	})
}

// A retry never waits longer than the check's next regular run: a 10s
// check that fails keeps running every 10s, not every retry_interval, so a
// failing check is never checked less often than a healthy one (as in
// Nagios, where retry_interval is used only while it is the shorter).
func TestRetriesNeverSlowACheckDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := svc("fast", 10*time.Second)
		c.MaxAttempts, c.RetryInterval = 3, time.Minute
		C := check.Critical
		r := &fakeRunner{states: map[check.Key][]check.State{c.Key(): {C, C, C, C, check.OK, check.OK}}}
		p := New(Options{Runner: r, Sink: &fakeSink{}})
		if err := p.Apply([]check.Check{c}); err != nil {
			t.Fatal(err)
		}
		stop := started(t, p)
		off := schedule.Offset(c.Key(), 10*time.Second)
		time.Sleep(off + 55*time.Second)
		stop()
		s := time.Second
		want := []time.Duration{0, 10 * s, 20 * s, 30 * s, 40 * s, 50 * s}
		if got := r.startsOf(c.Key(), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(off)); !slices.Equal(got, want) {
			t.Errorf("runs at %v, want %v", got, want)
		}
	})
}

func TestRetryNeedsBothSettings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := svc("http", time.Minute)
		c.MaxAttempts = 3 // no RetryInterval: always the interval
		r := &fakeRunner{states: map[check.Key][]check.State{c.Key(): {check.Critical, check.Critical}}}
		p := New(Options{Runner: r, Sink: &fakeSink{}})
		p.Apply([]check.Check{c})
		stop := started(t, p)
		off := schedule.Offset(c.Key(), time.Minute)
		time.Sleep(off + time.Minute + time.Second)
		stop()
		if got := r.startsOf(c.Key(), time.Now().Truncate(time.Hour).Add(off)); !slices.Equal(got, []time.Duration{0, time.Minute}) {
			t.Errorf("runs at %v", got)
		}
	})
}

func TestConcurrencyLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{gate: make(chan struct{})}
		p := New(Options{Runner: r, Sink: &fakeSink{}, Concurrency: 3})
		var checks []check.Check
		for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
			checks = append(checks, check.Check{Host: "web1", Service: name, Cron: "CRON_TZ=UTC * * * * *"})
		}
		p.Apply(checks)
		stop := started(t, p)
		time.Sleep(time.Minute) // all ten are due now
		synctest.Wait()
		if st := p.Stats(); st.Running != 3 || st.Waiting != 7 || st.Started != 3 {
			t.Fatalf("with all due: %+v, want 3 running and 7 waiting", st)
		}
		for i := range 7 {
			time.Sleep(time.Second)
			r.gate <- struct{}{} // one finishes, the next waiting one starts
			synctest.Wait()
			if st := p.Stats(); st.Running != 3 || st.Waiting != 6-i || st.Started != uint64(4+i) {
				t.Fatalf("after %d finished: %+v", i+1, st)
			}
		}
		st := p.Stats()
		if r.maxFlight != 3 {
			t.Errorf("%d ran at once, limit 3", r.maxFlight)
		}
		if st.Lateness.Count != 10 || st.Lateness.Max != 7*time.Second || st.Lateness.P50 != 2*time.Second || st.Lateness.P99 != 7*time.Second {
			// Started late by 0,0,0,1,...,7s: the median is in the 2s
			// bucket, p99 in the 10s bucket, capped at the maximum.
			t.Errorf("lateness %+v, want 10 runs, max 7s, p50 2s, p99 7s", st.Lateness)
		}
		// The histogram as Prometheus gets it: cumulative, with the sum.
		want := map[time.Duration]uint64{0: 3, time.Second: 4, 2 * time.Second: 5, 5 * time.Second: 8, 10 * time.Second: 10, 10 * time.Minute: 10}
		for _, b := range st.Lateness.Buckets {
			if n, ok := want[b.Le]; ok && b.Count != n {
				t.Errorf("bucket le=%s holds %d runs, want %d", b.Le, b.Count, n)
			}
		}
		if st.Lateness.Sum != 28*time.Second || len(st.Lateness.Buckets) != 20 {
			t.Errorf("lateness sum %s over %d buckets, want 28s over 20", st.Lateness.Sum, len(st.Lateness.Buckets))
		}
		stop()
	})
}

func TestSkipIfStillRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{gate: make(chan struct{})}
		p := New(Options{Runner: r, Sink: &fakeSink{}})
		c := svc("slow", time.Minute)
		p.Apply([]check.Check{c})
		stop := started(t, p)
		off := schedule.Offset(c.Key(), time.Minute)
		time.Sleep(off + 150*time.Second) // due at +0 (runs), +60 and +120 (skipped)
		synctest.Wait()
		if st := p.Stats(); st.Started != 1 || st.Skipped != 2 || st.Running != 1 {
			t.Fatalf("stats %+v, want 1 started, 2 skipped", st)
		}
		r.gate <- struct{}{}
		time.Sleep(30 * time.Second) // the next slot, +180, runs again
		synctest.Wait()
		if st := p.Stats(); st.Started != 2 || st.Skipped != 2 {
			t.Fatalf("stats %+v, want a second start at the next slot", st)
		}
		t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(off)
		if got := r.startsOf(c.Key(), t0); !slices.Equal(got, []time.Duration{0, 3 * time.Minute}) {
			t.Errorf("runs at %v", got)
		}
		stop()
	})
}

func TestShutdownDeliversInterruptedResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, s := &fakeRunner{gate: make(chan struct{})}, &fakeSink{}
		p := New(Options{Runner: r, Sink: s})
		var checks []check.Check
		for _, name := range []string{"a", "b", "c"} {
			checks = append(checks, check.Check{Host: "web1", Service: name, Cron: "CRON_TZ=UTC * * * * *"})
		}
		p.Apply(checks)
		stop := started(t, p)
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := p.Stats(); st.Running != 3 {
			t.Fatalf("stats %+v, want 3 running", st)
		}
		if err := stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
		// Run has returned: every interrupted result is already in the sink.
		got := s.got()
		if len(got) != 3 {
			t.Fatalf("sink got %d results, want 3", len(got))
		}
		for i, res := range got {
			if res.State != check.Critical || res.Output[:11] != "interrupted" {
				t.Errorf("result %+v, want the interrupted one", res)
			}
			if s.ctxErrs[i] != nil {
				t.Errorf("Put got a context already done: %v", s.ctxErrs[i])
			}
		}
		if st := p.Stats(); st.Running != 0 || st.Completed != 3 {
			t.Errorf("stats after Run %+v", st)
		}
	})
}

func TestSinkErrorsAreCountedAndPollingGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, s := &fakeRunner{}, &fakeSink{err: errSinkDown}
		p := New(Options{Runner: r, Sink: s})
		c := check.Check{Host: "web1", Service: "load", Cron: "CRON_TZ=UTC * * * * *"}
		p.Apply([]check.Check{c})
		stop := started(t, p)
		time.Sleep(5*time.Minute + time.Second)
		synctest.Wait()
		if st := p.Stats(); st.Started != 5 || st.Completed != 5 || st.SinkErrors != 5 {
			t.Errorf("stats %+v, want 5 runs and 5 sink errors", st)
		}
		stop()
	})
}

func TestRunTwiceAtOnceIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Options{Runner: &fakeRunner{}, Sink: &fakeSink{}})
		stop := started(t, p)
		synctest.Wait()
		if err := p.Run(t.Context()); !errors.Is(err, ErrAlreadyRunning) {
			t.Errorf("second Run = %v, want ErrAlreadyRunning", err)
		}
		stop()
	})
}

// The Clock is injected: a hand-driven clock moves the schedule without
// any timer of package time.
func TestInjectedClockDrivesTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // only for synctest.Wait
		clk := &fakeClock{now: time.Date(2024, 5, 15, 10, 7, 30, 0, time.UTC)}
		r := &fakeRunner{now: clk.Now}
		p := New(Options{Runner: r, Sink: &fakeSink{}, Clock: clk})
		c := check.Check{Host: "web1", Service: "q", Cron: "CRON_TZ=UTC */15 * * * *"}
		p.Apply([]check.Check{c})
		stop := started(t, p)
		for range 40 {
			clk.Advance(time.Minute)
			synctest.Wait()
		}
		stop()
		want := []time.Time{
			time.Date(2024, 5, 15, 10, 15, 30, 0, time.UTC), // the first Advance past 10:15
			time.Date(2024, 5, 15, 10, 30, 30, 0, time.UTC),
			time.Date(2024, 5, 15, 10, 45, 30, 0, time.UTC),
		}
		var got []time.Time
		for _, x := range r.started() {
			got = append(got, x.at)
		}
		if !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("runs at %v, want %v", got, want)
		}
		if l := p.Stats().Lateness; l.Max != 30*time.Second {
			t.Errorf("lateness %+v, want 30s: the clock jumped past each due time", l)
		}
	})
}
