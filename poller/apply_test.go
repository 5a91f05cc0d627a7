package poller

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/schedule"
)

// retrying returns a check whose first run fails softly, so its next run
// is a retry 10s later instead of its interval slot: a schedule that only
// survives an Apply if the poller kept the check's state.
func retrying() (check.Check, *fakeRunner) {
	c := svc("http", time.Minute)
	c.MaxAttempts, c.RetryInterval = 3, 10*time.Second
	return c, &fakeRunner{states: map[check.Key][]check.State{c.Key(): {check.Critical}}}
}

func TestApplyKeepsUnchangedChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, r := retrying()
		p := New(Options{Runner: r, Sink: &fakeSink{}})
		p.Apply([]check.Check{c})
		stop := started(t, p)
		off := schedule.Offset(c.Key(), time.Minute)
		time.Sleep(off + 5*time.Second) // ran once, CRITICAL, retry due at +10s
		other := svc("load", time.Minute)
		if err := p.Apply([]check.Check{other, c}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(6 * time.Second)
		t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(off)
		if got := r.startsOf(c.Key(), t0); !slices.Equal(got, []time.Duration{0, 10 * time.Second}) {
			t.Errorf("runs at %v, want the retry kept at +10s", got)
		}
		if st := p.Stats(); st.Scheduled != 2 {
			t.Errorf("Scheduled %d, want 2", st.Scheduled)
		}
		stop()
	})
}

func TestApplyReschedulesChangedChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, r := retrying()
		p := New(Options{Runner: r, Sink: &fakeSink{}})
		p.Apply([]check.Check{c})
		stop := started(t, p)
		off := schedule.Offset(c.Key(), time.Minute)
		time.Sleep(off + 5*time.Second)
		changed := c
		changed.Command = "check_http -H example.com"
		if err := p.Apply([]check.Check{changed}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(off)
		if got := r.startsOf(c.Key(), t0); !slices.Equal(got, []time.Duration{0, time.Minute}) {
			t.Errorf("runs at %v, want the retry dropped and the next phase slot", got)
		}
		if runs := r.started(); runs[len(runs)-1].command != changed.Command {
			t.Errorf("last run used %q, want the new command", runs[len(runs)-1].command)
		}
		stop()
	})
}

func TestApplyRemovesChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{}
		p := New(Options{Runner: r, Sink: &fakeSink{}})
		a, b := svc("a", time.Minute), svc("b", time.Minute)
		p.Apply([]check.Check{a, b})
		stop := started(t, p)
		time.Sleep(time.Minute)
		p.Apply([]check.Check{b})
		time.Sleep(5 * time.Minute)
		if n := len(r.startsOf(a.Key(), time.Time{})); n != 1 {
			t.Errorf("removed check ran %d times, want once, before the removal", n)
		}
		if n := len(r.startsOf(b.Key(), time.Time{})); n != 6 {
			t.Errorf("kept check ran %d times, want 6", n)
		}
		if st := p.Stats(); st.Scheduled != 1 {
			t.Errorf("Scheduled %d, want 1", st.Scheduled)
		}
		stop()
	})
}

// A check running at Apply finishes under its old definition, its result
// reaches the Sink, and Apply does not wait for it. The new definition
// does not start while the old run is still going.
func TestApplyLetsRunningCheckFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, s := &fakeRunner{gate: make(chan struct{})}, &fakeSink{}
		p := New(Options{Runner: r, Sink: s})
		c := check.Check{Host: "web1", Service: "x", Command: "old", Cron: "CRON_TZ=UTC * * * * *"}
		p.Apply([]check.Check{c})
		stop := started(t, p)
		time.Sleep(time.Minute)
		synctest.Wait() // running "old", blocked in the runner

		changed := c
		changed.Command = "new"
		if err := p.Apply([]check.Check{changed}); err != nil { // must not block
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // "new" is due, but "old" still runs
		synctest.Wait()
		if st := p.Stats(); st.Started != 1 || st.Skipped != 1 {
			t.Errorf("stats %+v: the new definition started beside the old run", st)
		}
		r.gate <- struct{}{}
		synctest.Wait()
		if got := s.got(); len(got) != 1 || got[0].Output != "old" {
			t.Errorf("sink got %+v, want the old definition's result", got)
		}
		time.Sleep(time.Minute)
		r.gate <- struct{}{}
		synctest.Wait()
		if got := s.got(); len(got) != 2 || got[1].Output != "new" {
			t.Errorf("sink got %+v, want the new definition's result next", got)
		}
		stop()
	})
}

func TestApplyRemovingARunningCheckStillDeliversIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, s := &fakeRunner{gate: make(chan struct{})}, &fakeSink{}
		p := New(Options{Runner: r, Sink: s})
		c := check.Check{Host: "web1", Service: "x", Command: "old", Cron: "CRON_TZ=UTC * * * * *"}
		p.Apply([]check.Check{c})
		stop := started(t, p)
		time.Sleep(time.Minute)
		synctest.Wait()
		p.Apply(nil)
		r.gate <- struct{}{}
		synctest.Wait()
		if got := s.got(); len(got) != 1 || got[0].Output != "old" {
			t.Errorf("sink got %+v", got)
		}
		if st := p.Stats(); st.Scheduled != 0 || st.Running != 0 {
			t.Errorf("stats %+v", st)
		}
		stop()
	})
}

func TestApplyRefusesBadListsWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Options{Runner: &fakeRunner{}, Sink: &fakeSink{}})
		good := []check.Check{svc("a", time.Minute), svc("b", time.Minute)}
		if err := p.Apply(good); err != nil {
			t.Fatal(err)
		}
		stop := started(t, p)
		synctest.Wait()
		bad := check.Check{Host: "web1", Service: "c", Cron: "CRON_TZ=Nowhere/Bogus 0 0 * * *"}
		tests := []struct {
			name  string
			list  []check.Check
			says  []string
			isErr error
		}{
			{"duplicate", []check.Check{svc("a", time.Minute), svc("z", time.Minute), svc("a", time.Hour)},
				[]string{"web1/a: defined more than once"}, ErrInvalidChecks},
			{"bad cron", []check.Check{svc("z", time.Minute), bad}, []string{"web1/c", "Nowhere/Bogus"}, schedule.ErrCron},
			{"zero interval", []check.Check{svc("z", 0)}, []string{"web1/z", "neither interval nor cron"}, ErrInvalidChecks},
			{"all at once", []check.Check{svc("a", 0), svc("a", 0)}, []string{"web1/a: defined more than once", "neither"}, ErrInvalidChecks},
		}
		for _, tt := range tests {
			err := p.Apply(tt.list)
			if err == nil {
				t.Errorf("%s: Apply succeeded", tt.name)
				continue
			}
			if !errors.Is(err, tt.isErr) {
				t.Errorf("%s: %v does not wrap %v", tt.name, err, tt.isErr)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s: error %q does not say %q", tt.name, err, s)
				}
			}
		}
		synctest.Wait()
		if st := p.Stats(); st.Scheduled != 2 {
			t.Errorf("Scheduled %d after refused lists, want the 2 from before", st.Scheduled)
		}
		stop()
	})
}

// Removing a running check and adding it back must not start it beside its
// own run still in flight.
func TestApplyReAddedCheckWaitsForItsOldRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{gate: make(chan struct{})}
		p := New(Options{Runner: r, Sink: &fakeSink{}})
		c := check.Check{Host: "web1", Service: "x", Command: "old", Cron: "CRON_TZ=UTC * * * * *"}
		p.Apply([]check.Check{c})
		stop := started(t, p)
		time.Sleep(time.Minute)
		synctest.Wait()
		p.Apply(nil)
		synctest.Wait() // the loop has dropped it
		p.Apply([]check.Check{c})
		time.Sleep(time.Minute) // due again; the first run still holds the key
		synctest.Wait()
		if st := p.Stats(); st.Started != 1 || st.Skipped != 1 {
			t.Errorf("stats %+v: started beside its own run", st)
		}
		r.gate <- struct{}{}
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := p.Stats(); st.Started != 2 || r.maxFlight != 1 {
			t.Errorf("stats %+v, max in flight %d", st, r.maxFlight)
		}
		stop()
	})
}
