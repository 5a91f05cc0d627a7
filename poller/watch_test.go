package poller

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// scripted evaluates to the states it is given, one per call, then the
// last for ever.
type scripted struct {
	mu     sync.Mutex
	states []check.State
	calls  int
}

func (s *scripted) Evaluate(context.Context) check.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[min(s.calls, len(s.states)-1)]
	s.calls++
	return check.Result{Host: "web1", Service: "proc", State: st, CheckTime: time.Now()}
}

func watched(interval, every time.Duration) check.Check {
	c := svc("proc", interval)
	c.Watch, c.WatchInterval = true, every
	return c
}

// A change is handed on at the evaluation that sees it; an unchanged state
// only when the interval has come round since the last one handed on.
func TestWatchReportsChangesAtOnceAndRoutineAtInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		O, C := check.OK, check.Critical
		// Evaluated every second: OK for 5s, CRITICAL for 3s, OK again.
		ev := &scripted{states: []check.State{O, O, O, O, O, C, C, C, O}}
		sink := &fakeSink{}
		w := NewWatcher(sink, nil, nil)
		w.Apply([]Watch{{Check: watched(time.Minute, time.Second), Eval: ev}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		time.Sleep(70*time.Second + time.Millisecond)
		cancel()
		<-done
		var at []time.Duration
		var states []check.State
		for _, r := range sink.got() {
			at = append(at, r.CheckTime.Sub(t0))
			states = append(states, r.State)
		}
		wantAt := []time.Duration{0, 5 * time.Second, 8 * time.Second, 68 * time.Second}
		wantStates := []check.State{O, C, O, O}
		if !slices.Equal(at, wantAt) || !slices.Equal(states, wantStates) {
			t.Errorf("handed on %v at %v, want %v at %v", states, at, wantStates, wantAt)
		}
		st := w.Stats()
		if st.Evaluations != 71 || st.Changes != 3 || st.Routine != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// Apply keeps an unchanged watch's state: a reload is not a change.
func TestWatchApplyKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ev := &scripted{states: []check.State{check.OK}}
		sink := &fakeSink{}
		w := NewWatcher(sink, nil, nil)
		c := watched(time.Hour, time.Second)
		w.Apply([]Watch{{Check: c, Eval: ev}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		time.Sleep(3 * time.Second)
		w.Apply([]Watch{{Check: c, Eval: ev}})
		time.Sleep(3 * time.Second)
		cancel()
		<-done
		if n := len(sink.got()); n != 1 {
			t.Errorf("%d results handed on, want 1: the reload counted as a change", n)
		}
	})
}
