package poller

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/schedule"
)

// entry is one scheduled check as the loop sees it.
type entry struct {
	planned
	key   check.Key
	due   time.Time // next due time; its slot in the heap
	index int       // position in the heap, -1 when not in it

	// waiting is true while the entry sits in the ready queue for a slot;
	// waitDue is the due time it waits for, from which lateness counts.
	waiting bool
	waitDue time.Time
	// attempt counts consecutive non-OK results, up to MaxAttempts, as
	// Nagios' current attempt does.
	attempt int
	retired bool // replaced or removed by Apply
}

// finished is what a worker reports after its run and its Put.
type finished struct {
	e   *entry
	res check.Result
	at  time.Time // when the plugin returned, before the Put
}

// loop is the state of one Run; only Run's goroutine touches it.
type loop struct {
	p       *Poller
	ctx     context.Context
	entries map[check.Key]*entry
	// busy holds the keys with a run in flight, whatever definition it
	// runs under, so a key never runs twice at once, not even when Apply
	// removes a running check and adds it back.
	busy    map[check.Key]bool
	due     entryHeap
	ready   []*entry // due entries in due order, waiting for a slot
	running int
	waiting int
	// done is buffered for every possible worker, so a worker never waits
	// to report, not even while the loop is busy with shutdown.
	done  chan finished
	wg    sync.WaitGroup
	timer Timer
}

func newLoop(p *Poller, ctx context.Context) *loop {
	return &loop{
		p:       p,
		ctx:     ctx,
		entries: make(map[check.Key]*entry),
		busy:    make(map[check.Key]bool),
		done:    make(chan finished, p.limit),
	}
}

func (l *loop) run() error {
	l.timer = l.p.clock.NewTimer(time.Hour)
	l.timer.Stop()
	defer l.timer.Stop()
	for {
		if list, ok := l.p.take(); ok {
			l.reconcile(list)
		}
		now := l.p.clock.Now()
		l.runNow(l.p.takeNow(), now)
		l.dispatch(now)
		l.fill()
		if len(l.due) > 0 {
			l.timer.Reset(max(l.due[0].due.Sub(now), 0))
		} else {
			l.timer.Stop()
		}
		// Published after the timer is armed, so a test driving a fake
		// clock can tell from Stats that the loop is ready for it.
		l.publish()
		select {
		case <-l.ctx.Done():
			return l.shutdown()
		case <-l.timer.C():
		case <-l.p.wake:
		case f := <-l.done:
			l.complete(f)
		case reply := <-l.p.snap:
			l.publishChecks()
			close(reply)
		}
	}
}

// reconcile makes the applied list the scheduled one.
func (l *loop) reconcile(list []planned) {
	now := l.p.clock.Now()
	next := make(map[check.Key]*entry, len(list))
	for _, pl := range list {
		k := pl.check.Key()
		old := l.entries[k]
		delete(l.entries, k)
		if old != nil && old.check == pl.check {
			next[k] = old
			continue
		}
		e := &entry{planned: pl, key: k, index: -1, due: schedule.First(pl.sched, now)}
		if old != nil {
			l.retire(old)
		}
		next[k] = e
		l.schedule(e)
	}
	for _, old := range l.entries {
		l.retire(old)
	}
	l.entries = next
}

// retire forgets an entry Apply replaced or removed. A run in flight
// finishes on its own and still reaches the Sink.
func (l *loop) retire(e *entry) {
	e.retired = true
	if e.index >= 0 {
		heap.Remove(&l.due, e.index)
	}
	if e.waiting {
		e.waiting = false
		l.waiting--
	}
}

// schedule puts e into the heap at e.due, or drops it when its schedule
// has no more runs, which schedule.ParseCron rules out.
func (l *loop) schedule(e *entry) {
	if e.due.IsZero() {
		l.p.log.Error("poller: check has no next run time, not scheduled", "check", e.key.String())
		return
	}
	if e.index >= 0 {
		heap.Fix(&l.due, e.index)
	} else {
		heap.Push(&l.due, e)
	}
}

// dispatch moves every entry that is due into the ready queue and gives it
// its next due time at once, so a check stuck behind a slow run or a full
// slot table keeps its cadence instead of bursting to catch up.
func (l *loop) dispatch(now time.Time) {
	for len(l.due) > 0 && !l.due[0].due.After(now) {
		e := l.due[0]
		due := e.due
		e.due = e.sched.Next(later(due, now))
		if e.due.IsZero() {
			heap.Pop(&l.due)
			l.schedule(e) // only logs: a zero due is never scheduled
		} else {
			heap.Fix(&l.due, 0)
		}
		if l.busy[e.key] || e.waiting {
			l.p.mu.Lock()
			l.p.stats.Skipped++
			if s, ok := l.p.status[e.key]; ok {
				s.Skipped++
			}
			l.p.mu.Unlock()
			l.p.log.Debug("poller: check skipped, its previous run has not finished",
				"check", e.key.String(), "due", due, "running", l.busy[e.key])
			continue
		}
		e.waiting, e.waitDue = true, due
		l.waiting++
		l.ready = append(l.ready, e)
	}
}

// fill starts waiting entries while slots are free.
func (l *loop) fill() {
	for l.running < l.p.limit && len(l.ready) > 0 {
		e := l.ready[0]
		l.ready[0] = nil
		l.ready = l.ready[1:]
		if !e.waiting {
			continue // retired while it waited
		}
		e.waiting = false
		l.waiting--
		l.start(e)
	}
	if len(l.ready) == 0 {
		l.ready = l.ready[:0:0] // let the backing array go
	}
}

// start runs e in a worker goroutine that also hands the result to the
// Sink, so a slow Sink holds only the slot of the run it serves.
func (l *loop) start(e *entry) {
	now := l.p.clock.Now()
	l.busy[e.key] = true
	l.running++
	l.p.mu.Lock()
	l.p.stats.Started++
	l.p.late.add(now.Sub(e.waitDue))
	if s, ok := l.p.status[e.key]; ok && now.Sub(e.waitDue) > time.Second {
		s.Late++
	}
	l.p.mu.Unlock()

	c := e.check
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		res := l.p.runner.Run(l.ctx, c)
		at := l.p.clock.Now()
		l.p.put(l.ctx, res)
		l.done <- finished{e: e, res: res, at: at}
	}()
}

// put hands r to the Sink under a context that outlives Run's, so results
// of plugins interrupted by shutdown are still delivered, but bounded.
func (p *Poller) put(ctx context.Context, r check.Result) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.sinkTimeout)
	defer cancel()
	if err := p.sink.Put(ctx, r); err != nil {
		p.sinkFailed(r, err)
	}
}

// complete frees the slot of a finished run and applies Nagios retry rules.
func (l *loop) complete(f finished) {
	l.running--
	l.p.mu.Lock()
	l.p.stats.Completed++
	l.p.mu.Unlock()

	e := f.e
	delete(l.busy, e.key)
	if e.retired {
		return // its schedule and retry state went with it
	}
	l.p.mu.Lock()
	if s, ok := l.p.status[e.key]; ok {
		s.LastStart, s.LastDuration, s.LastState, s.LastOutput = f.res.CheckTime, f.res.Duration, f.res.State, f.res.Output
		s.Runs++
	}
	l.p.mu.Unlock()
	c := e.check
	if f.res.State == check.OK {
		e.attempt = 0
	} else if e.attempt < max(c.MaxAttempts, 1) {
		e.attempt++
	}
	if c.MaxAttempts > 1 && c.RetryInterval > 0 && f.res.State != check.OK && e.attempt < c.MaxAttempts {
		// Soft state: retry sooner than the next slot, if the retry
		// interval is the shorter (dispatch has already set e.due to the
		// next slot). A retry that would come later than the regular run
		// would slow a failing check down, and delay picking up a plugin
		// dropped in to fix it. Once the state turns hard or OK, the next
		// dispatch computes the regular slot again.
		if retry := f.at.Add(c.RetryInterval); retry.Before(e.due) {
			e.due = retry
			l.schedule(e)
		}
	}
	l.p.mu.Lock()
	if s, ok := l.p.status[e.key]; ok {
		s.Attempt = e.attempt
	}
	l.p.mu.Unlock()
}

// publish copies the gauges for Stats. It runs at every turn of the loop,
// so it must not grow with the number of checks.
func (l *loop) publish() {
	l.p.mu.Lock()
	l.p.stats.Scheduled = len(l.entries)
	l.p.stats.Running = l.running
	l.p.stats.Waiting = l.waiting
	l.p.mu.Unlock()
}

// publishChecks copies each check's next due time and whether it runs,
// for Checks, which asks for them: a walk over every check.
func (l *loop) publishChecks() {
	l.p.mu.Lock()
	for k, e := range l.entries {
		if s, ok := l.p.status[k]; ok {
			s.Next, s.Running = e.due, l.busy[k]
			if l.busy[k] || e.waiting {
				s.Next = time.Time{}
			}
		}
	}
	l.p.mu.Unlock()
}

// runNow makes the entries of keys due at now, unless they run or wait.
func (l *loop) runNow(keys []check.Key, now time.Time) {
	for _, k := range keys {
		if e, ok := l.entries[k]; ok && !l.busy[k] && !e.waiting && e.index >= 0 {
			e.due = now
			heap.Fix(&l.due, e.index)
		}
	}
}

// shutdown waits for every running plugin (their contexts are Run's, so
// they are already cancelled) and for its Put, then returns.
func (l *loop) shutdown() error {
	for l.running > 0 {
		l.complete(<-l.done)
	}
	l.wg.Wait()
	l.publish()
	l.publishChecks()
	return l.ctx.Err()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
