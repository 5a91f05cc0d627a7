package nagios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrLost is wrapped by the error Queue.Run returns when queued commands
// could not be written before it stopped.
var ErrLost = errors.New("queued commands not written")

// Defaults for QueueOption values.
const (
	DefaultRetryMin      = 100 * time.Millisecond
	DefaultRetryMax      = 5 * time.Second
	DefaultShutdownGrace = 2 * time.Second
)

// spareCap bounds the buffer kept for reuse after a drain, so that one long
// outage does not pin its peak memory for the life of the server.
const spareCap = 4 << 20

// QueueOption configures a Queue.
type QueueOption func(*Queue)

// RetryBackoff sets the first and the longest wait between attempts while
// the command file is unavailable; the wait doubles after each failure.
func RetryBackoff(first, max time.Duration) QueueOption {
	return func(q *Queue) { q.retryMin, q.retryMax = first, max }
}

// ShutdownGrace sets how long Run keeps trying to flush after its context is
// cancelled.
func ShutdownGrace(d time.Duration) QueueOption {
	return func(q *Queue) { q.grace = d }
}

// QueueStats are a Queue's counters, in commands (lines).
type QueueStats struct {
	Written uint64 // written to the command file
	Dropped uint64 // refused by Submit: queue full, empty line, or stopped
	Pending int    // accepted and not yet written
	Errors  uint64 // failed write attempts
	Lost    uint64 // accepted but not written when Run returned
}

// Queue decouples producers (the NSCA receiver) from the command file: Submit
// never blocks, and Run writes what was submitted in batches, in order. While
// the command file is unavailable (Nagios stopped or restarting) Run keeps
// the queued commands and retries, so results survive a restart of a few
// seconds; beyond max queued commands, Submit refuses and counts.
type Queue struct {
	cf       *CommandFile
	max      int
	log      *slog.Logger
	retryMin time.Duration
	retryMax time.Duration
	grace    time.Duration

	wake chan struct{} // a token when buf goes from empty to non-empty

	mu       sync.Mutex
	buf      []byte // submitted lines Run has not taken yet
	bufLines int
	held     int // lines Run has taken and not yet written
	running  bool
	stopped  bool

	written, dropped, errors, lost atomic.Uint64
}

// NewQueue returns a queue of at most max commands in front of cf. A nil
// logger discards. Run must be called for anything to be written. It panics
// if max is less than 1, which would refuse every command.
func NewQueue(cf *CommandFile, max int, logger *slog.Logger, opts ...QueueOption) *Queue {
	if max < 1 {
		panic(fmt.Sprintf("nagios.NewQueue: max %d, must be at least 1", max))
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	q := &Queue{
		cf:       cf,
		max:      max,
		log:      logger,
		retryMin: DefaultRetryMin,
		retryMax: DefaultRetryMax,
		grace:    DefaultShutdownGrace,
		wake:     make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(q)
	}
	return q
}

// Submit queues one command line, copying it, so the caller may reuse line
// at once. A missing final newline is added; line must not contain any other
// newline. It returns false, and counts a drop, when the queue already holds
// max commands, when line is empty, or once Run has stopped.
func (q *Queue) Submit(line []byte) bool {
	q.mu.Lock()
	if q.stopped || len(line) == 0 || q.bufLines+q.held >= q.max {
		q.mu.Unlock()
		q.dropped.Add(1)
		return false
	}
	q.buf = append(q.buf, line...)
	if line[len(line)-1] != '\n' {
		q.buf = append(q.buf, '\n')
	}
	q.bufLines++
	first := q.bufLines == 1
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// Stats returns the current counters.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	pending := q.bufLines + q.held
	q.mu.Unlock()
	return QueueStats{
		Written: q.written.Load(),
		Dropped: q.dropped.Load(),
		Pending: pending,
		Errors:  q.errors.Load(),
		Lost:    q.lost.Load(),
	}
}

// outage tracks one period of failed writes, so that it is logged once
// when it starts and once when it ends.
type outage struct {
	active  bool
	start   time.Time
	retries int
}

// batch is the run loop's view of what it took from the queue.
type batch struct {
	data  []byte // unwritten part of buf
	buf   []byte // the whole taken buffer, kept for reuse
	lines int    // lines in data
}

// Run writes submitted commands to the command file until ctx is cancelled,
// then tries to flush what is left for at most the shutdown grace, and
// returns. The error is nil when nothing was left behind, and wraps ErrLost
// with the count otherwise. Run may be called once.
func (q *Queue) Run(ctx context.Context) error {
	q.mu.Lock()
	if q.running || q.stopped {
		q.mu.Unlock()
		return errors.New("nagios: Queue.Run called twice")
	}
	q.running = true
	q.mu.Unlock()

	var (
		b     batch
		out   outage
		delay time.Duration
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	defer timer.Stop()
	for {
		if b.lines == 0 {
			q.take(&b)
		}
		if b.lines == 0 {
			select {
			case <-q.wake:
				continue
			case <-ctx.Done():
				return q.shutdown(ctx, &b, nil)
			}
		}
		waited := 0
		if out.active {
			waited = q.Stats().Pending
		}
		err := q.write(ctx, &b)
		if err == nil {
			if out.active {
				q.log.Info("nagios command file is writable again",
					"path", q.cf.Path(), "outage", time.Since(out.start).Round(time.Millisecond),
					"retries", out.retries, "waited", waited)
				out = outage{}
			}
			delay = 0
			continue
		}
		if ctx.Err() != nil {
			return q.shutdown(ctx, &b, err)
		}
		q.errors.Add(1)
		if out.active {
			out.retries++
			q.log.Debug("nagios command file still unavailable", "path", q.cf.Path(), "error", err)
		} else {
			out = outage{active: true, start: time.Now()}
			q.log.Warn("nagios command file unavailable; holding commands and retrying",
				"path", q.cf.Path(), "error", err, "pending", q.Stats().Pending)
		}
		delay = nextDelay(delay, q.retryMin, q.retryMax)
		timer.Reset(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return q.shutdown(ctx, &b, err)
		}
	}
}

func nextDelay(d, first, max time.Duration) time.Duration {
	if d == 0 {
		return first
	}
	return min(2*d, max)
}

// take moves everything submitted into b, handing the queue b's old buffer
// so that steady state allocates nothing.
func (q *Queue) take(b *batch) {
	spare := b.buf[:0]
	if cap(spare) > spareCap {
		spare = nil
	}
	q.mu.Lock()
	b.buf, q.buf = q.buf, spare
	b.lines = q.bufLines
	q.held += q.bufLines
	q.bufLines = 0
	q.mu.Unlock()
	b.data = b.buf
}

// write writes b.data and accounts for every whole line that got out, also
// when the write failed part way.
func (q *Queue) write(ctx context.Context, b *batch) error {
	err := q.cf.Write(ctx, b.data)
	n := len(b.data)
	if err != nil {
		n = 0
		var we *WriteError
		if errors.As(err, &we) {
			// A command cut short is sent again whole; CommandFile ends
			// the fragment first.
			n = bytes.LastIndexByte(b.data[:we.Written], '\n') + 1
		}
	}
	done := b.lines
	if err != nil {
		done = bytes.Count(b.data[:n], newline)
	}
	b.data = b.data[n:]
	b.lines -= done
	q.mu.Lock()
	q.held -= done
	q.mu.Unlock()
	q.written.Add(uint64(done))
	return err
}

// shutdown stops the queue and flushes what it can within the grace period.
func (q *Queue) shutdown(parent context.Context, b *batch, lastErr error) error {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), q.grace)
	defer cancel()
	var delay time.Duration
	for {
		if b.lines == 0 {
			q.take(b)
		}
		if b.lines == 0 {
			break
		}
		err := q.write(ctx, b)
		if err == nil {
			continue
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
		delay = nextDelay(delay, q.retryMin, q.retryMax)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
	}

	q.mu.Lock()
	lost := q.bufLines + q.held
	q.buf, q.bufLines, q.held = nil, 0, 0
	q.mu.Unlock()
	if lost == 0 {
		return nil
	}
	if lastErr == nil {
		lastErr = context.DeadlineExceeded
	}
	q.lost.Add(uint64(lost))
	q.log.Error("nagios command queue stopped with commands not written",
		"path", q.cf.Path(), "lost", lost, "error", lastErr)
	return fmt.Errorf("%w: %d for %s; last error: %w", ErrLost, lost, q.cf.Path(), lastErr)
}
