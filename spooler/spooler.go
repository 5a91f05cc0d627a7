package spooler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/spool"
)

// Log is the durable spool seen through named cursors: *spool.Spool, whose
// records each hold a check.Result in its binary encoding.
type Log interface {
	// Read returns up to max records with Seq > after, in order. Seqs may
	// jump where retention dropped records. It returns (nil, nil) when there
	// are none.
	Read(ctx context.Context, after uint64, max int) ([]spool.Record, error)
	// Position is the last seq the cursor consumed, 0 for a new cursor.
	Position(cursor string) uint64
	// Commit durably moves the cursor to seq.
	Commit(cursor string, seq uint64) error
}

// Dialer opens a connection to one target: NSCA (NSCA) or Icinga 2's API
// (Icinga2), each a kind of target behind the same interface.
type Dialer interface {
	Dial(ctx context.Context, addr string) (Conn, error)
}

// Conn carries one batch of results to a target: the spooler dials, calls
// SendBatch once and closes, so a Conn may end the batch as its protocol
// likes (NSCA's confirms the server read it; Icinga answers each result).
type Conn interface {
	// SendBatch delivers items in order and returns how many, from the
	// first, are settled: taken by the target, or refused by it for good
	// (the Conn then sets the item's Refused), and an error if the rest
	// were not. The cursor moves over settled items only.
	SendBatch(ctx context.Context, items []Item) (int, error)
	Close() error
}

// Item is one result as a target's Conn gets it.
type Item struct {
	Result check.Result
	// Delay is how late a result older than the replay window is (zero
	// for a recent one): a target that files results under the time they
	// arrive (a plain NSCA daemon) says so in the output.
	Delay time.Duration
	// TTL is how long the result stays current by its check's schedule,
	// for targets that take it (Icinga 2); zero when not known.
	TTL time.Duration
	// Refused is set by the Conn when the target refused the item for
	// good (an object it does not know): it is not sent again.
	Refused error
}

// Target is one server a group sends to.
type Target struct {
	// Name is for logs and stats; empty means Address.
	Name    string
	Address string
	// Group names the cursor. Targets that share a Group form a failover
	// chain in slice order, primary first; different groups each get every
	// record (fan-out).
	Group  string
	Dialer Dialer
	// Fingerprint stands for everything else that makes the target what it
	// is (cipher, password, timeouts): Apply restarts a group whose
	// targets' fingerprints change, and leaves the others running.
	Fingerprint string
}

// Defaults for Options' zero fields.
const (
	DefaultFlushInterval = time.Second
	DefaultReplayWindow  = 15 * time.Minute
	DefaultSendTimeout   = 30 * time.Second
	DefaultMaxBackoff    = 60 * time.Second

	// DefaultBatchSize is how many records one batch reads, and so the
	// most packets one connection carries. A batch must finish well inside
	// DefaultSendTimeout on the slowest cipher, and be large enough that
	// the dial and the durable Commit per batch do not dominate on fast
	// ones. Measured on a 2-core AMD EPYC (go1.26.8), sending 2,000 v3
	// packets of 80-byte results over loopback:
	//
	//	cipher         picket client into nsca.Server   into Debian's nsca 2.10.2 --single
	//	3des (among the slowest, with loki97 and saferplus: all three cost
	//	the nsca daemon 1.4 to 1.7 ms of CPU a packet)
	//	                      630 packets/s                 490 packets/s
	//	twofish             1,090 packets/s               1,260 packets/s
	//	rijndael128         7,250 packets/s               1,610 packets/s
	//	none / xor         80,000 packets/s              26,000 packets/s (xor)
	//
	// So 500 packets take about 1 s on 3DES into the real daemon: 30 times
	// inside the 30 s deadline, which leaves room for a receiver shared by
	// a few dozen agents catching up at once, or a slower machine; beyond
	// that, a target's batch halves each time one runs out of time, and
	// doubles back after eight in a row that did not. On the fastest
	// ciphers a batch is 10 to 30 ms on a fresh connection, and what it
	// costs besides its packets is small: dial, init packet and the wait
	// for the server to finish reading take about 0.3 ms on loopback, the
	// spooler's own work (read, decode, policy) about 1 µs a record, plus
	// the Log's durable Commit. Larger batches drain a little faster into
	// nsca.Server on loopback (less TCP slow start per packet), but the
	// real daemon takes far fewer packets per second than either, so they
	// would only eat into the deadline's headroom on slow ciphers.
	// BenchmarkCipherBatch measures the first column again; BenchmarkDrain
	// compares batch sizes against the bare client.
	DefaultBatchSize = 500
)

// Options configure a Spooler. Log and Targets are required.
type Options struct {
	Log     Log
	Targets []Target
	// FlushInterval is how soon a new record is sent without a Wake.
	FlushInterval time.Duration
	// ReplayWindow is the age beyond which results are old: reduced to
	// state changes and each service's last, and marked as delayed.
	ReplayWindow time.Duration
	// BatchSize is the most records read, and packets sent, per batch;
	// a target that cannot take a batch within SendTimeout gets smaller
	// ones.
	BatchSize int
	// SendTimeout bounds one batch: dial, send, and the server's
	// confirmation that it read the batch.
	SendTimeout time.Duration
	// MaxBackoff caps the wait before retrying a failed target.
	MaxBackoff time.Duration
	// Logger is nil to discard.
	Logger *slog.Logger
	// Now is the wall clock for the replay policy and for LastSuccess in
	// Stats; nil means time.Now. Backoff (and NextTry) runs on the
	// runtime's clock, so a fake Now never stalls a retry.
	Now func() time.Time
	// TTL gives an item's TTL: how long a result of that host and service
	// stays current. Nil: none.
	TTL func(check.Key) time.Duration
	// Refused hears of each item a target refused for good, with the
	// target's name, so the caller can act (register the host).
	Refused func(target string, it Item)
	// Policy says how results of a host and service are sent; nil sends
	// every result.
	Policy func(check.Key) SendPolicy
}

// SendPolicy is how a check's results are sent. With OnChange, a result
// whose state (and, with OnOutput, output) equals the last one a group sent
// for its service is left out, until Heartbeat has passed since that one;
// the first result after New or Apply is always sent.
type SendPolicy struct {
	OnChange  bool
	OnOutput  bool
	Heartbeat time.Duration
}

// ErrInvalidOptions is wrapped by New's and Apply's errors.
var ErrInvalidOptions = errors.New("invalid spooler options")

// ErrAlreadyRunning is returned by a second concurrent Run.
var ErrAlreadyRunning = errors.New("spooler is already running")

// Spooler sends the spool to every target group. Each group's sending
// state belongs to whoever holds its turn (the group's goroutine while Run
// runs, or Flush); Stats reads a copy kept under a mutex.
//
// What a group has sent (the newest check time per service, for the stale
// rule) and what it has read but not sent live as long as the group, across
// Apply, so the agent should keep one Spooler for its whole life, Run and
// the final Flush alike.
type Spooler struct {
	base settings // the parts of the settings Apply cannot change
	log  *slog.Logger

	mu     sync.Mutex // serialises Run's start and end, Apply and Flush's view
	cfg    settings
	groups []*group
	runCtx context.Context // while Run runs
	// live is groups as of the last Apply, for Wake and Stats, which must
	// never wait for Apply.
	live atomic.Pointer[[]*group]
}

// New checks o and returns a Spooler; it reports every problem at once.
// It touches neither the Log nor the network. Targets may be empty: the
// spooler then sends nothing until Apply gives it some.
func New(o Options) (*Spooler, error) {
	if err := validate(o); err != nil {
		return nil, err
	}
	base := settings{log: o.Log, now: o.Now, logger: o.Logger, randInt64: randInt64N, ttl: o.TTL, refused: o.Refused, policy: o.Policy}
	if base.now == nil {
		base.now = time.Now
	}
	if base.logger == nil {
		base.logger = slog.New(slog.DiscardHandler)
	}
	s := &Spooler{base: base, log: base.logger}
	s.live.Store(&[]*group{})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apply(o)
	return s, nil
}

// settingsOf is o's tunables with defaults applied over base.
func (s *Spooler) settingsOf(o Options) settings {
	cfg := s.base
	cfg.flush = or(o.FlushInterval, DefaultFlushInterval)
	cfg.window = or(o.ReplayWindow, DefaultReplayWindow)
	cfg.batch = or(o.BatchSize, DefaultBatchSize)
	cfg.timeout = or(o.SendTimeout, DefaultSendTimeout)
	cfg.maxWait = or(o.MaxBackoff, DefaultMaxBackoff)
	return cfg
}

// Apply makes o's targets and tunables the running ones. A group whose
// targets and settings are unchanged goes on undisturbed; a changed group
// finishes the batch in flight, then goes on from where it stood with its
// new targets; a new group starts from its cursor; a group no longer in o
// stops (its cursor stays in the Log: it resumes from there if it comes
// back). Changed tunables restart every group. o.Log, o.Now and o.Logger
// are New's and cannot change.
func (s *Spooler) Apply(o Options) error {
	o.Log = s.base.log
	if err := validate(o); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apply(o)
	for _, g := range s.groups {
		g.forgetSent.Store(true) // the first result after a reload goes
	}
	return nil
}

// apply does Apply's work; the caller holds mu.
func (s *Spooler) apply(o Options) {
	cfg := s.settingsOf(o)
	restartAll := cfg.tunables() != s.cfg.tunables()
	s.cfg = cfg
	byName := map[string][]Target{}
	var order []string
	for _, t := range o.Targets {
		if _, ok := byName[t.Group]; !ok {
			order = append(order, t.Group)
		}
		byName[t.Group] = append(byName[t.Group], t)
	}
	old := map[string]*group{}
	for _, g := range s.groups {
		old[g.name] = g
	}
	var next []*group
	for _, name := range order {
		g, ok := old[name]
		delete(old, name)
		switch {
		case !ok:
			g = newGroup(name, cfg)
			g.setTargets(byName[name])
			s.start(g)
		case restartAll || !g.sameTargets(byName[name]):
			s.stop(g)
			g.turn <- struct{}{} // a Flush may be sending
			g.cfg, g.log = cfg, cfg.logger.With("group", name)
			g.setTargets(byName[name])
			<-g.turn
			s.start(g)
		}
		next = append(next, g)
	}
	for _, g := range old {
		s.stop(g)
	}
	s.groups = next
	s.live.Store(&next)
}

// start runs g's goroutine if Run is running; the caller holds mu.
func (s *Spooler) start(g *group) {
	if s.runCtx == nil {
		return
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	done := make(chan struct{})
	g.cancel, g.done = cancel, done
	go func() {
		defer close(done)
		g.run(ctx)
	}()
}

// stop ends g's goroutine, if it has one, once its batch in flight is
// over; the caller holds mu.
func (s *Spooler) stop(g *group) {
	if g.cancel == nil {
		return
	}
	g.cancel()
	<-g.done
	g.cancel, g.done = nil, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func validate(o Options) error {
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	if o.Log == nil {
		bad("no Log")
	}
	for name, d := range map[string]time.Duration{
		"FlushInterval": o.FlushInterval, "ReplayWindow": o.ReplayWindow,
		"SendTimeout": o.SendTimeout, "MaxBackoff": o.MaxBackoff,
	} {
		if d < 0 {
			bad("%s is negative (%v)", name, d)
		}
	}
	if o.BatchSize < 0 {
		bad("BatchSize is negative (%d)", o.BatchSize)
	}
	addrs := map[[2]string]bool{}
	for i, t := range o.Targets {
		what := fmt.Sprintf("target %d (%q)", i+1, or(t.Name, t.Address))
		if t.Group == "" {
			bad("%s: no group", what)
		}
		if t.Address == "" {
			bad("%s: no address", what)
		} else if k := [2]string{t.Group, t.Address}; addrs[k] {
			bad("%s: address %s appears twice in group %q", what, t.Address, t.Group)
		} else {
			addrs[k] = true
		}
		if t.Dialer == nil {
			bad("%s: no dialer", what)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(problems...))
	}
	return nil
}

// Run sends until ctx ends, one goroutine per group (Apply starts and
// stops them as groups come and go), and returns ctx's error once they
// have all exited. A batch in flight is cancelled; the cursor covers what
// was written, and the rest stays in the Log (or, read but unsent, with
// the Spooler for a later Flush).
func (s *Spooler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.runCtx != nil {
		s.mu.Unlock()
		return ErrAlreadyRunning
	}
	s.runCtx = ctx
	for _, g := range s.groups {
		s.start(g)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	for _, g := range s.groups {
		s.stop(g)
	}
	s.runCtx = nil
	s.mu.Unlock()
	return ctx.Err()
}

// Wake makes every group send now rather than at its next flush tick, for
// an urgent result just appended. It never blocks. A group whose targets
// are all in backoff still waits for the first retry.
func (s *Spooler) Wake() {
	for _, g := range *s.live.Load() {
		select {
		case g.wake <- struct{}{}:
		default: // a wake-up is already waiting
		}
	}
}

// Flush makes one pass per group, in parallel, sending everything the Log
// holds now. Every target of a group is tried once, even one in backoff:
// it is meant for shutdown, after Run returned, so that the last results
// go out. It returns when done or when ctx ends; the error names each
// group that could not send everything. Called during Run, it waits for
// the group's turn, so nothing is sent twice.
func (s *Spooler) Flush(ctx context.Context) error {
	groups := *s.live.Load()
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() {
			if _, err := g.pass(ctx, true); err != nil {
				errs[i] = fmt.Errorf("group %q: %w", g.name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
