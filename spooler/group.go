package spooler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picket-monitoring/picket/icinga2"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/nsca"
)

// settings are the Options with defaults applied, shared by every group.
type settings struct {
	log                             Log
	flush, window, timeout, maxWait time.Duration
	batch                           int
	now                             func() time.Time
	logger                          *slog.Logger
	randInt64                       func(int64) int64
	ttl                             func(check.Key) time.Duration
	refused                         func(string, Item)
	policy                          func(check.Key) SendPolicy
}

// tunables are the settings Apply may change.
type tunables struct {
	flush, window, timeout, maxWait time.Duration
	batch                           int
}

func (s settings) tunables() tunables {
	return tunables{s.flush, s.window, s.timeout, s.maxWait, s.batch}
}

// errAllDown is returned by a pass that stopped because no target of the
// group could take packets.
var errAllDown = errors.New("every target of the group is down")

// errLogPeriod is how often the same Log error is logged again while it
// persists: once a tick would flood the log during a disk problem.
const errLogPeriod = time.Minute

// group sends one cursor's records down one failover chain. Everything
// but wake, turn and the stats belongs to whoever holds turn: Run's
// goroutine for the group, or Flush.
type group struct {
	name    string
	cfg     settings
	log     *slog.Logger
	targets []*target
	wake    chan struct{}
	turn    chan struct{} // a one-slot lock that a context can abandon
	// cancel and done belong to the Spooler: they stop the group's
	// goroutine, when it has one.
	cancel context.CancelFunc
	done   chan struct{}
	// inbox holds what SendNow handed the group, until a pass sends it.
	inboxMu sync.Mutex
	inbox   []item
	// lastSent is, per service sent only on change, the last result
	// queued to be sent; forgetSent clears it at the next pass.
	lastSent   map[check.Key]sentResult
	forgetSent atomic.Bool

	loaded bool
	// Records up to pos are sent or skipped; up to readPos they have been
	// read, and those past pos wait in pending. committed is what the Log
	// holds durably.
	pos, readPos, committed uint64
	pending                 []item
	// lastFull says the last Read filled a batch, so more may be waiting.
	lastFull bool

	// newest is the latest check time sent (or queued in pending, which is
	// always sent before anything read later) per host and service.
	newest map[check.Key]time.Time
	// lastState is the state of the latest result seen per host and
	// service, sent or reduced, for the replay policy's state changes.
	lastState map[check.Key]check.State
	// sentState is the state of the latest result sent per host and
	// service, for the replay policy applied again to a batch that is
	// resent after its results grew old (see repolicy).
	sentState map[check.Key]check.State
	// oldRun is the scanned run of old records being prepared, if any.
	oldRun *oldRun

	active *target
	down   bool // every target was down at the last attempt
	// recheck says an attempt failed since pending was read: the spool
	// may have dropped some of it meanwhile (see dropRetired).
	recheck     bool
	lastErr     error // of the last failed batch, for Flush's error
	logErrs     errThrottle
	logRefusals errThrottle

	statsMu sync.Mutex
	stats   GroupStats
}

// target is one Target with its backoff and batch limit, owned by the
// holder of its group's turn, and its stats, under the group's statsMu.
type target struct {
	Target
	index    int
	failures int       // consecutive
	retryAt  time.Time // on the runtime's clock; zero when not in backoff
	// limit is the batch this target gets: halved after a batch ran out of
	// time, doubled back after growAfter full batches in a row that did
	// not, so a target that only just keeps up is not pushed over the edge
	// every other batch.
	limit, streak int
	stats         TargetStats
	// delivered: results reached it once since the group started; during
	// an outage (failures > 0), since when it is down and when and what
	// was last logged of it.
	delivered bool
	downSince time.Time
	loggedAt  time.Time
	loggedErr string
	// offset is the target's clock minus ours, as its last connection
	// showed it (NSCA's init packet), when offsetKnown.
	offset      atomic.Int64
	offsetKnown atomic.Bool
}

// item is a prepared record.
type item struct {
	seq     uint64
	res     check.Result
	checked time.Time // res.CheckTime, or when spooled
	old     bool
}

func newGroup(name string, cfg settings) *group {
	return &group{
		name:      name,
		cfg:       cfg,
		log:       cfg.logger.With("group", name),
		wake:      make(chan struct{}, 1),
		turn:      make(chan struct{}, 1),
		newest:    map[check.Key]time.Time{},
		lastState: map[check.Key]check.State{},
		sentState: map[check.Key]check.State{},
		lastSent:  map[check.Key]sentResult{},
		stats:     GroupStats{Cursor: name},
	}
}

// setTargets makes ts the group's failover chain, each target fresh: no
// backoff, a full batch. The caller holds the group's turn or knows that
// no one does (its goroutine is stopped).
func (g *group) setTargets(ts []Target) {
	targets := make([]*target, len(ts))
	for i, t := range ts {
		t.Name = or(t.Name, t.Address)
		targets[i] = &target{
			Target: t,
			index:  i,
			limit:  g.cfg.batch,
			stats:  TargetStats{Name: t.Name, Address: t.Address},
		}
	}
	g.statsMu.Lock()
	g.targets = targets
	g.stats.Active = ""
	g.statsMu.Unlock()
	g.active, g.down = nil, false
}

// sameTargets reports whether ts is the chain the group already has.
func (g *group) sameTargets(ts []Target) bool {
	if len(ts) != len(g.targets) {
		return false
	}
	for i, t := range ts {
		have := g.targets[i].Target
		if or(t.Name, t.Address) != have.Name || t.Address != have.Address || t.Fingerprint != have.Fingerprint {
			return false
		}
	}
	return true
}

// run makes a pass at once, then on every flush tick, Wake, or, while
// every target is down, at the first retry.
func (g *group) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-g.wake:
		}
		retry, err := g.pass(ctx, false)
		if ctx.Err() != nil {
			return
		}
		wait := g.cfg.flush
		if errors.Is(err, errAllDown) {
			wait = max(time.Until(retry), 0)
		}
		timer.Reset(wait)
	}
}

// pass takes the group's turn and sends until the Log has nothing more,
// no target takes packets, or ctx ends. With flush, every target is tried
// once whatever its backoff. When every target is down it returns
// errAllDown and the time of the first retry.
func (g *group) pass(ctx context.Context, flush bool) (time.Time, error) {
	select {
	case g.turn <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	defer func() { <-g.turn }()
	if !g.loaded {
		p := g.cfg.log.Position(g.name)
		g.pos, g.readPos, g.committed, g.loaded = p, p, p, true
		g.statsMu.Lock()
		g.stats.Committed = p
		g.statsMu.Unlock()
	}
	var tried map[*target]bool
	if flush {
		tried = map[*target]bool{}
	}
	defer g.commit() // a commit that failed earlier is retried here too
	if g.forgetSent.Swap(false) {
		clear(g.lastSent)
	}
	g.sendInbox(ctx, tried)
	for {
		if len(g.pending) == 0 {
			if g.pick(tried) == nil {
				return g.allDown()
			}
			more, err := g.read(ctx)
			if err != nil || !more {
				return time.Time{}, err
			}
			if len(g.pending) == 0 {
				g.commit() // the whole batch was skipped; pos covers it
				continue
			}
		}
		t := g.pick(tried)
		if t == nil {
			return g.allDown()
		}
		if g.recheck {
			g.recheck = false
			if g.dropRetired(ctx); len(g.pending) == 0 {
				continue
			}
		}
		err := g.attempt(ctx, t)
		g.commit()
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		if err != nil && tried != nil {
			tried[t] = true
		}
		if err == nil && len(g.pending) == 0 && !g.lastFull {
			return time.Time{}, nil
		}
	}
}

// read takes the next batch from the Log into pending. more is false when
// the Log had nothing after readPos.
func (g *group) read(ctx context.Context) (more bool, err error) {
	recs, err := g.cfg.log.Read(ctx, g.readPos, g.cfg.batch)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		err = fmt.Errorf("read cursor %q after seq %d: %w", g.name, g.readPos, err)
		g.problem(err)
		return false, err
	}
	if len(recs) == 0 {
		return false, nil
	}
	g.lastFull = len(recs) >= g.cfg.batch
	if err := g.prepare(ctx, recs); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		g.problem(err)
		// What was prepared is still sent; the rest is read again later.
		g.lastFull = true
		if len(g.pending) == 0 {
			g.pos = g.readPos
		}
		return false, err
	}
	if len(g.pending) == 0 {
		g.pos = g.readPos
	}
	return true, nil
}

// prepare decodes recs, applies the stale rule and the replay policy, and
// queues what is to be sent in pending. readPos moves over every record it
// has decided on, also when a read-ahead fails part-way.
func (g *group) prepare(ctx context.Context, recs []spool.Record) error {
	now := g.cfg.now()
	cutoff := now.Add(-g.cfg.window)
	var skip struct {
		reduced, stale, undecodable, invalid, unchanged uint64
		firstBad                                        error
	}
	defer func() {
		g.statsMu.Lock()
		g.stats.Reduced += skip.reduced
		g.stats.Stale += skip.stale
		g.stats.Undecodable += skip.undecodable
		g.stats.Invalid += skip.invalid
		g.stats.Unchanged += skip.unchanged
		g.statsMu.Unlock()
		if skip.firstBad != nil {
			// One line per batch: a corrupt stretch of spool should not
			// log once per record.
			g.log.Warn("spooler: records skipped", "undecodable", skip.undecodable,
				"invalid", skip.invalid, "first", skip.firstBad)
		}
	}()
	for _, rec := range recs {
		after := g.readPos
		var r check.Result
		if err := r.UnmarshalBinary(rec.Data); err != nil {
			skip.undecodable++
			if skip.firstBad == nil {
				skip.firstBad = fmt.Errorf("seq %d: %w", rec.Seq, err)
			}
			g.readPos = rec.Seq
			continue
		}
		if err := sendable(r); err != nil {
			skip.invalid++
			if skip.firstBad == nil {
				skip.firstBad = fmt.Errorf("seq %d (%s): %w", rec.Seq, key(r), err)
			}
			g.readPos = rec.Seq
			continue
		}
		ct, k := checkTime(r, rec), key(r)
		if n, ok := g.newest[k]; ok && !ct.After(n) {
			skip.stale++
			g.readPos = rec.Seq
			continue
		}
		if g.oldRun != nil && rec.Seq > g.oldRun.end {
			g.oldRun = nil // past the scanned run: judge by the current window
		}
		old := g.oldRun != nil
		if !old && ct.Before(cutoff) {
			run, err := g.scan(ctx, after, cutoff)
			if err != nil {
				return err
			}
			g.oldRun, old = run, true
		}
		prev, seen := g.lastState[k]
		g.lastState[k] = r.State
		if old && seen && prev == r.State && g.oldRun.last[k] != rec.Seq {
			skip.reduced++
			g.readPos = rec.Seq
			continue
		}
		if g.unchanged(k, r, ct) {
			skip.unchanged++
			g.readPos = rec.Seq
			continue
		}
		g.newest[k] = ct
		g.pending = append(g.pending, item{seq: rec.Seq, res: r, checked: ct, old: old})
		g.readPos = rec.Seq
	}
	return nil
}

// sentResult is what a send-on-change check last sent.
type sentResult struct {
	state  check.State
	output string
	at     time.Time
}

// unchanged says r need not be sent: its check sends only on change, and
// it says what the last one queued for its service said, within the
// heartbeat. Otherwise it becomes that last one.
func (g *group) unchanged(k check.Key, r check.Result, checked time.Time) bool {
	if g.cfg.policy == nil {
		return false
	}
	p := g.cfg.policy(k)
	if !p.OnChange {
		return false
	}
	last, ok := g.lastSent[k]
	if ok && last.state == r.State && (!p.OnOutput || last.output == r.Output) && checked.Sub(last.at) < p.Heartbeat {
		return true
	}
	g.lastSent[k] = sentResult{state: r.State, output: r.Output, at: checked}
	return false
}

// sendable rejects results no NSCA packet can carry. Names are never cut:
// a cut name would report under the wrong Nagios object, or none.
func sendable(r check.Result) error {
	p := nsca.Packet{Host: r.Host, Service: r.Service}
	return p.Validate(nsca.PacketSize)
}

// toItem is it as a Conn gets it, at now.
func (g *group) toItem(it *item, now time.Time) Item {
	out := Item{Result: it.res}
	out.Result.CheckTime = it.checked
	if it.old {
		out.Delay = max(now.Sub(it.checked), 0)
	}
	if g.cfg.ttl != nil {
		out.TTL = g.cfg.ttl(it.key())
	}
	return out
}

// pick returns the first target in failover order that may be tried: not
// in backoff, or, for a flush (tried != nil), not yet failed in it.
func (g *group) pick(tried map[*target]bool) *target {
	now := time.Now()
	for _, t := range g.targets {
		if tried != nil {
			if !tried[t] {
				return t
			}
			continue
		}
		if !now.Before(t.retryAt) {
			return t
		}
	}
	return nil
}

// allDown records that no target can be tried and returns when the first
// one may be again.
func (g *group) allDown() (time.Time, error) {
	g.setActive(nil)
	var first time.Time
	for _, t := range g.targets {
		if first.IsZero() || t.retryAt.Before(first) {
			first = t.retryAt
		}
	}
	if g.lastErr != nil {
		return first, fmt.Errorf("%w; results wait in the spool; last error: %w", errAllDown, g.lastErr)
	}
	return first, errAllDown
}

// attempt sends the head of pending to t over a fresh connection, as one
// batch under the send timeout, and moves pos over what was written.
//
// A fresh connection per batch, not one kept open: nsca in --single mode
// serves one connection at a time, so an idle connection held between
// ticks would block every other agent; and since nsca never acknowledges,
// a write into a connection the server dropped while it idled would
// "succeed" and lose the packets. A connection whose init packet has just
// arrived is one the server is serving. The dial, and the wait for the
// server to finish reading (see NSCA), cost a few round trips per few
// hundred packets.
func (g *group) attempt(ctx context.Context, t *target) error {
	now := g.cfg.now()
	g.repolicy(now)
	k := min(len(g.pending), t.limit)
	items := make([]Item, k)
	for i := range items {
		items[i] = g.toItem(&g.pending[i], now)
	}
	bctx, cancel := context.WithTimeout(ctx, g.cfg.timeout)
	defer cancel()
	n, connected, err := send(bctx, t, items)
	g.refusals(t, items[:n])
	g.written(t, n)
	if err == nil {
		g.succeeded(t, k)
		return nil
	}
	if ctx.Err() != nil {
		return err // shutting down: no fault of the target's
	}
	t.streak = 0
	// Only time that ran out once connected says the batch was too big
	// for the target; a dial that timed out says the target is gone.
	if connected && errors.Is(err, context.DeadlineExceeded) && t.limit > 1 {
		t.limit = max(t.limit/2, 1)
		g.log.Warn("spooler: batch ran out of time; smaller batches for this target",
			"target", t.Name, "written", n, "of", k, "timeout", g.cfg.timeout, "batch", t.limit)
	}
	g.failed(t, err)
	return err
}

// dropRetired removes from pending what the spool no longer holds: during
// a long outage, retention drops the oldest results, and the batch read
// before the outage would otherwise be sent after it, delivering results
// the spool has counted as dropped and leaving a hole after them. The
// first record the Log still returns after pos says where retention
// stopped. A failed Read keeps pending as it is: better sent than lost.
func (g *group) dropRetired(ctx context.Context) {
	recs, err := g.cfg.log.Read(ctx, g.pos, 1)
	if err != nil || len(g.pending) == 0 {
		return
	}
	i := len(g.pending) // nothing after pos is left: all of it was dropped
	if len(recs) > 0 {
		i = sort.Search(len(g.pending), func(i int) bool { return g.pending[i].seq >= recs[0].Seq })
	}
	if i == 0 {
		return
	}
	g.log.Info("spooler: results read before the outage were dropped by the spool meanwhile; not sent",
		"results", i, "first_seq", g.pending[0].seq, "last_seq", g.pending[i-1].seq)
	g.pending = g.pending[i:]
	if len(g.pending) == 0 {
		g.pending = nil
	}
}

// send dials t and sends ps; connected says the dial succeeded.
func send(ctx context.Context, t *target, ps []Item) (n int, connected bool, err error) {
	conn, err := t.Dialer.Dial(ctx, t.Address)
	if err != nil {
		return 0, false, fmt.Errorf("send to %s: %w", t.Name, err)
	}
	defer conn.Close()
	if c, ok := conn.(interface{ ClockOffset() time.Duration }); ok {
		t.offset.Store(int64(c.ClockOffset()))
		t.offsetKnown.Store(true)
	}
	n, err = conn.SendBatch(ctx, ps)
	if err != nil {
		return n, true, fmt.Errorf("send to %s: %d of %d results settled: %w", t.Name, n, len(ps), err)
	}
	if n != len(ps) {
		return n, true, fmt.Errorf("send to %s: %d of %d results settled, no error given", t.Name, n, len(ps))
	}
	return n, true, nil
}

// written moves pos over the first n pending items, which t has taken.
func (g *group) written(t *target, n int) {
	if n <= 0 {
		return
	}
	for _, it := range g.pending[:n] {
		g.sentState[it.key()] = it.res.State
	}
	g.pos = g.pending[n-1].seq
	g.pending = g.pending[n:]
	if len(g.pending) == 0 {
		g.pending = nil
		g.pos = g.readPos // skipped records at the batch's end go too
	}
	g.countSent(t, n)
}

// countSent adds n packets t took to the stats.
func (g *group) countSent(t *target, n int) {
	if n <= 0 {
		return
	}
	now := g.cfg.now()
	g.statsMu.Lock()
	g.stats.Sent += uint64(n)
	g.stats.LastSuccess = now
	t.stats.Sent += uint64(n)
	t.stats.LastSuccess = now
	g.statsMu.Unlock()
}

// refusals counts and reports the items t refused for good, once per kind
// of refusal a period in the log.
func (g *group) refusals(t *target, items []Item) {
	for _, it := range items {
		if it.Refused == nil {
			continue
		}
		g.statsMu.Lock()
		g.stats.Refused++
		t.stats.Refused++
		t.stats.LastRefusal = it.Refused.Error()
		g.statsMu.Unlock()
		if n, ok := g.logRefusals.allow(refusalKind(it.Refused), time.Now()); ok {
			g.log.Warn("spooler: target refused a result for good; not sent again", "target", t.Name,
				"host", it.Result.Host, "service", it.Result.Service, "err", it.Refused, "refused_meanwhile", n)
		}
		if g.cfg.refused != nil {
			g.cfg.refused(t.Name, it)
		}
	}
}

// refusalKind is what makes two refusals "the same" for the log.
func refusalKind(err error) string {
	if k := icinga2.Kind(err); k != "other" {
		return k
	}
	return err.Error()
}

// growAfter is how many full batches in a row a target must take in time
// before its batch doubles again.
const growAfter = 8

func (g *group) succeeded(t *target, k int) {
	if k == t.limit && t.limit < g.cfg.batch {
		if t.streak++; t.streak >= growAfter {
			t.limit, t.streak = min(2*t.limit, g.cfg.batch), 0
		}
	}
	if t.failures > 0 {
		g.log.Info("spooler: target reachable again", "target", t.Name, "failures", t.failures,
			"down_for", time.Since(t.downSince).Round(time.Second))
	}
	if !t.delivered {
		t.delivered = true
		g.log.Info("spooler: first results delivered to the target", "target", t.Name)
	}
	t.failures, t.retryAt = 0, time.Time{}
	g.statsMu.Lock()
	t.stats.Up, t.stats.NextTry = true, time.Time{}
	g.statsMu.Unlock()
	g.setActive(t)
}

func (g *group) failed(t *target, err error) {
	g.recheck = true
	t.failures++
	wait := backoff(t.failures, g.cfg.maxWait, g.cfg.randInt64)
	t.retryAt = time.Now().Add(wait)
	g.lastErr = err
	g.statsMu.Lock()
	t.stats.Up = false
	t.stats.Failures++
	t.stats.LastError = err.Error()
	t.stats.NextTry = t.retryAt
	g.stats.LastError = err.Error()
	g.statsMu.Unlock()
	// Once at the start of an outage, then at most once a minute with
	// the count, and whenever the error changes; each retry at Debug.
	now := time.Now()
	level := slog.LevelDebug
	switch {
	case t.failures == 1:
		level, t.downSince, t.loggedAt, t.loggedErr = slog.LevelWarn, now, now, err.Error()
	case err.Error() != t.loggedErr || now.Sub(t.loggedAt) >= errLogPeriod:
		level, t.loggedAt, t.loggedErr = slog.LevelWarn, now, err.Error()
	}
	g.log.Log(context.Background(), level, "spooler: target failed", "target", t.Name,
		"err", err, "failures", t.failures, "down_for", now.Sub(t.downSince).Round(time.Second), "retry_in", wait.Round(time.Millisecond))
}

// setActive notes which target takes the group's packets (nil: none),
// and logs a failover, a return to the primary and a total outage once
// each, not once per batch.
func (g *group) setActive(t *target) {
	if t == nil {
		if g.down {
			return
		}
		g.active, g.down = nil, true
		g.setActiveStat("")
		g.log.Warn("spooler: every target of the group is down; results wait in the spool")
		return
	}
	prev, wasDown := g.active, g.down
	if t == prev {
		return
	}
	g.active, g.down = t, false
	g.setActiveStat(t.Name)
	switch {
	case t.index > 0:
		from := "none"
		if prev != nil {
			from = prev.Name
		}
		g.log.Warn("spooler: failed over to a standby target", "target", t.Name, "from", from)
	case len(g.targets) > 1 && (prev != nil || wasDown):
		// A group of one has just said "reachable again"; this is news
		// only where there was a standby to return from.
		g.log.Info("spooler: sending to the primary target again", "target", t.Name)
	}
}

func (g *group) setActiveStat(name string) {
	g.statsMu.Lock()
	g.stats.Active = name
	g.statsMu.Unlock()
}

// commit makes pos durable if it moved; a failure is logged and retried at
// the next batch or pass.
func (g *group) commit() {
	if g.pos <= g.committed {
		return
	}
	if err := g.cfg.log.Commit(g.name, g.pos); err != nil {
		g.problem(fmt.Errorf("commit cursor %q at seq %d: %w", g.name, g.pos, err))
		return
	}
	g.committed = g.pos
	g.statsMu.Lock()
	g.stats.Committed = g.pos
	g.statsMu.Unlock()
}

// problem records a Log error and logs it, the same error at most once per
// errLogPeriod.
func (g *group) problem(err error) {
	g.statsMu.Lock()
	g.stats.LastError = err.Error()
	g.statsMu.Unlock()
	if n, ok := g.logErrs.allow(err.Error(), time.Now()); ok {
		g.log.Error("spooler: spool error; retrying", "err", err, "suppressed_since_last", n)
	}
}

type errThrottle struct {
	last       string
	at         time.Time
	suppressed int
}

func (e *errThrottle) allow(msg string, now time.Time) (suppressed int, ok bool) {
	if msg == e.last && now.Sub(e.at) < errLogPeriod {
		e.suppressed++
		return 0, false
	}
	suppressed = e.suppressed
	e.last, e.at, e.suppressed = msg, now, 0
	return suppressed, true
}
