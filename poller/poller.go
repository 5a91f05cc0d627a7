package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/schedule"
)

// Runner runs one check once. It never fails: a plugin that cannot start,
// times out or is killed is a result (UNKNOWN or CRITICAL) like any other.
// When ctx is cancelled it kills the plugin and returns promptly.
type Runner interface {
	Run(ctx context.Context, c check.Check) check.Result
}

// Sink takes each result, for example into the disk spool. Put may block;
// the poller bounds each call with Options.SinkTimeout.
type Sink interface {
	Put(ctx context.Context, r check.Result) error
}

// DefaultConcurrency is the plugin limit when Options.Concurrency is 0.
// Plugins mostly wait (on the network, on disk, on a sleeping process),
// so a few per core keeps the CPU busy without letting a burst of due
// checks fork hundreds of processes at once on a small host.
func DefaultConcurrency() int { return 4 * runtime.GOMAXPROCS(0) }

// DefaultSinkTimeout bounds one Sink.Put when Options.SinkTimeout is 0.
const DefaultSinkTimeout = 5 * time.Second

// Options configure a Poller. Runner and Sink are required.
type Options struct {
	Runner Runner
	Sink   Sink
	// Clock is nil for SystemClock().
	Clock Clock
	// Concurrency is the most plugins running at once; 0 means
	// DefaultConcurrency().
	Concurrency int
	// SinkTimeout bounds one Put, also the Puts of results interrupted by
	// shutdown; 0 means DefaultSinkTimeout.
	SinkTimeout time.Duration
	// Logger is nil to discard.
	Logger *slog.Logger
}

// Poller runs checks on their schedules. Its state belongs to the goroutine
// inside Run; Apply and Stats talk to it through a mutex-guarded mailbox
// and counters, so neither ever waits for a plugin.
type Poller struct {
	runner      Runner
	sink        Sink
	clock       Clock
	limit       int
	sinkTimeout time.Duration
	log         *slog.Logger

	// wake tells Run that pending holds a new check list.
	wake chan struct{}
	// snap asks Run for the checks' next due times (Checks); Run closes
	// the channel it receives once they are published.
	snap chan chan struct{}

	mu      sync.Mutex
	pending []planned // the latest applied list, not yet taken by Run
	fresh   bool      // pending is newer than what Run has
	running bool      // Run is active
	// runDone is closed when the active Run returns.
	runDone chan struct{}
	stats   Stats
	late    latency
	sinkLog rateLimit
	// status is each scheduled check's, for Checks; now are the keys
	// RunNow asked for, not yet taken by Run.
	status map[check.Key]*CheckStatus
	now    []check.Key
}

// planned is a validated check with its parsed schedule.
type planned struct {
	check check.Check
	sched schedule.Schedule
}

// New returns a Poller with no checks; call Apply to give it some.
func New(o Options) *Poller {
	p := &Poller{
		runner:      o.Runner,
		sink:        o.Sink,
		clock:       o.Clock,
		limit:       o.Concurrency,
		sinkTimeout: o.SinkTimeout,
		log:         o.Logger,
		wake:        make(chan struct{}, 1),
		snap:        make(chan chan struct{}),
		status:      map[check.Key]*CheckStatus{},
	}
	if p.clock == nil {
		p.clock = SystemClock()
	}
	if p.limit <= 0 {
		p.limit = DefaultConcurrency()
	}
	if p.sinkTimeout <= 0 {
		p.sinkTimeout = DefaultSinkTimeout
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// ErrInvalidChecks is wrapped by Apply's errors, which also wrap ErrCron
// for a bad cron spec.
var ErrInvalidChecks = errors.New("invalid check list")

var errDuplicate = errors.New("defined more than once")

// Apply replaces the check list, all or nothing: with duplicate keys or a
// bad schedule it returns an error naming every bad check and changes
// nothing. Unchanged checks keep their next run and retry state; changed
// and new ones are scheduled from now; removed ones are dropped, and one
// that is running finishes under its old definition and its result still
// goes to the Sink. Apply may be called before or during Run, from any
// goroutine, and never waits for a running plugin.
func (p *Poller) Apply(checks []check.Check) error {
	list := make([]planned, 0, len(checks))
	seen := make(map[check.Key]int, len(checks))
	var problems []error
	for _, c := range checks {
		k := c.Key()
		seen[k]++
		if seen[k] == 2 {
			problems = append(problems, fmt.Errorf("check %s: %w", k, errDuplicate))
		}
		s, err := schedule.Of(c)
		if err != nil {
			problems = append(problems, fmt.Errorf("check %s: %w", k, err))
			continue
		}
		list = append(list, planned{check: c, sched: s})
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidChecks, errors.Join(problems...))
	}
	p.mu.Lock()
	p.pending, p.fresh = list, true
	p.stats.Scheduled = len(list)
	keep := make(map[check.Key]*CheckStatus, len(list))
	for _, pl := range list {
		k := pl.check.Key()
		if s, ok := p.status[k]; ok {
			keep[k] = s
		} else {
			keep[k] = &CheckStatus{Key: k}
		}
	}
	p.status = keep
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default: // a wake-up is already waiting; Run will take the newest list
	}
	return nil
}

// take returns the newest applied list if Run has not seen it yet.
func (p *Poller) take() ([]planned, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	list, ok := p.pending, p.fresh
	p.fresh = false
	return list, ok
}

// takeNow returns the keys RunNow asked to run.
func (p *Poller) takeNow() []check.Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now
	p.now = nil
	return now
}

// ErrAlreadyRunning is returned by a second concurrent Run.
var ErrAlreadyRunning = errors.New("poller is already running")

// Run schedules and runs checks until ctx is done. Then it cancels the
// context of every running plugin, waits for them, hands their results to
// the Sink under a fresh bounded context, and returns ctx's error. No
// goroutine it started outlives it.
func (p *Poller) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return ErrAlreadyRunning
	}
	p.running, p.fresh = true, true // a new Run starts from the whole list
	done := make(chan struct{})
	p.runDone = done
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.running = false
		p.mu.Unlock()
		close(done)
	}()
	l := newLoop(p, ctx)
	return l.run()
}
