package poller

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// Evaluator evaluates one watch once, in this process (a built-in check).
type Evaluator interface {
	Evaluate(ctx context.Context) check.Result
}

// Watch is a check the Watcher evaluates every WatchInterval.
type Watch struct {
	Check check.Check
	Eval  Evaluator
}

// WatchStats are the Watcher's counters since it was made.
type WatchStats struct {
	Watches     int    // in the applied list
	Evaluations uint64 // in all
	Changes     uint64 // results handed on because the state changed
	Routine     uint64 // results handed on because the interval came round
	SinkErrors  uint64
}

// Watcher evaluates watches in one goroutine: every WatchInterval, each
// watch's Evaluator runs in-process (no fork), and its result goes to the
// Sink at once when its state differs from the last one handed on (the
// first evaluation always goes), else only when the check's Interval has
// passed since then, as a polled check's would. Evaluations are
// sequential: a watch is a few microseconds to a few milliseconds.
type Watcher struct {
	sink  Sink
	clock Clock
	log   *slog.Logger
	wake  chan struct{}

	mu      sync.Mutex
	pending []Watch
	fresh   bool
	stats   WatchStats
	status  map[check.Key]*CheckStatus
	now     []check.Key
}

// NewWatcher makes a Watcher handing results to sink; clock nil means the
// system clock, logger nil discards.
func NewWatcher(sink Sink, clock Clock, logger *slog.Logger) *Watcher {
	if clock == nil {
		clock = SystemClock()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{sink: sink, clock: clock, log: logger, wake: make(chan struct{}, 1), status: map[check.Key]*CheckStatus{}}
}

// Apply makes ws the watched list. A watch whose check is unchanged keeps
// its state, so a reload does not report it again as a change.
func (w *Watcher) Apply(ws []Watch) {
	w.mu.Lock()
	w.pending, w.fresh = ws, true
	w.stats.Watches = len(ws)
	keep := make(map[check.Key]*CheckStatus, len(ws))
	for _, wt := range ws {
		k := wt.Check.Key()
		keep[k] = w.status[k]
		if keep[k] == nil {
			keep[k] = &CheckStatus{Key: k}
		}
	}
	w.status = keep
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Checks returns the status of every watch, in key order.
func (w *Watcher) Checks() []CheckStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]CheckStatus, 0, len(w.status))
	for _, s := range w.status {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b CheckStatus) int {
		return cmpString(a.Key.Host+"\x00"+a.Key.Service, b.Key.Host+"\x00"+b.Key.Service)
	})
	return out
}

// RunNow makes the watches named evaluate at once and hand their result on
// whatever it says.
func (w *Watcher) RunNow(keys []check.Key) error {
	w.mu.Lock()
	var missing []string
	for _, k := range keys {
		if _, ok := w.status[k]; !ok {
			missing = append(missing, k.String())
		}
	}
	if len(missing) == 0 {
		w.now = append(w.now, keys...)
	}
	w.mu.Unlock()
	if len(missing) > 0 {
		return fmt.Errorf("no watch %v", missing)
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Stats returns the counters.
func (w *Watcher) Stats() WatchStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// watching is one watch in Run's hands.
type watching struct {
	Watch
	due      time.Time // next evaluation
	index    int
	seen     bool
	state    check.State
	lastSent time.Time
	forced   bool // RunNow: hand the next result on whatever it says
}

type watchHeap []*watching

func (h watchHeap) Len() int           { return len(h) }
func (h watchHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h watchHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *watchHeap) Push(x any)        { e := x.(*watching); e.index = len(*h); *h = append(*h, e) }
func (h *watchHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// Run evaluates until ctx ends. The results of the evaluation in progress
// are handed on before it returns.
func (w *Watcher) Run(ctx context.Context) error {
	var h watchHeap
	byKey := map[check.Key]*watching{}
	timer := w.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if list, ok := w.take(); ok {
			h, byKey = w.reconcile(list, byKey)
		}
		now := w.clock.Now()
		for _, k := range w.takeNow() {
			if e, ok := byKey[k]; ok {
				e.forced, e.due = true, now
				heap.Fix(&h, e.index)
			}
		}
		for len(h) > 0 && !h[0].due.After(now) {
			e := h[0]
			w.evaluate(ctx, e)
			e.due = e.due.Add(e.Check.WatchInterval)
			if now := w.clock.Now(); e.due.Before(now) {
				e.due = now // fell behind: no burst to catch up
			}
			heap.Fix(&h, 0)
		}
		wait := time.Hour
		if len(h) > 0 {
			wait = max(h[0].due.Sub(w.clock.Now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C():
		case <-w.wake:
		}
	}
}

func (w *Watcher) takeNow() []check.Key {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now
	w.now = nil
	return now
}

func (w *Watcher) take() ([]Watch, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.fresh {
		return nil, false
	}
	w.fresh = false
	return w.pending, true
}

// reconcile builds the heap for list, keeping the state of unchanged
// watches.
func (w *Watcher) reconcile(list []Watch, old map[check.Key]*watching) (watchHeap, map[check.Key]*watching) {
	now := w.clock.Now()
	h := make(watchHeap, 0, len(list))
	byKey := make(map[check.Key]*watching, len(list))
	for _, wt := range list {
		e, ok := old[wt.Check.Key()]
		if !ok || e.Check != wt.Check {
			e = &watching{Watch: wt, due: now}
		} else {
			e.Eval = wt.Eval
		}
		byKey[wt.Check.Key()] = e
		heap.Push(&h, e)
	}
	return h, byKey
}

// evaluate runs e once and hands its result on if it changed or is due.
func (w *Watcher) evaluate(ctx context.Context, e *watching) {
	res := e.Eval.Evaluate(ctx)
	now := w.clock.Now()
	changed := !e.seen || res.State != e.state
	due := now.Sub(e.lastSent) >= e.Check.Interval || e.forced
	e.forced = false
	w.mu.Lock()
	w.stats.Evaluations++
	if s, ok := w.status[e.Check.Key()]; ok {
		s.LastStart, s.LastDuration, s.LastState, s.LastOutput = res.CheckTime, res.Duration, res.State, res.Output
		s.Runs++
		s.Next = now.Add(e.Check.WatchInterval)
	}
	w.mu.Unlock()
	if !changed && !due {
		return
	}
	putCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultSinkTimeout)
	err := w.sink.Put(putCtx, res)
	cancel()
	w.mu.Lock()
	switch {
	case err != nil:
		w.stats.SinkErrors++
	case changed:
		w.stats.Changes++
	default:
		w.stats.Routine++
	}
	w.mu.Unlock()
	if err != nil {
		w.log.Error("watch result not stored", "check", e.Check.Key().String(), "err", err)
		return
	}
	if changed && e.seen {
		w.log.Info("watch: state changed", "check", e.Check.Key().String(), "from", e.state.String(), "to", res.State.String())
	}
	e.seen, e.state, e.lastSent = true, res.State, now
}
