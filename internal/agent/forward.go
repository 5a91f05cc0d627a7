package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/nsca"
)

// Forwarder limits. The queue holds results for a short outage (1,000
// checks at 5m is 10,000 results in under an hour) in a few MB; the batch is
// what one NSCA connection carries before the next is opened.
const (
	queueLimit    = 10000
	batchLimit    = 256
	flushInterval = time.Second
	maxBackoff    = 30 * time.Second
)

// forwarder sends every result to every target, each target from its own
// bounded queue so a dead one never delays the others. It stands in for
// the durable spool and spooler: what it holds lives only in memory.
type forwarder struct {
	logger  *slog.Logger
	senders []*sender
	wg      sync.WaitGroup
}

// sender owns one target's queue and its connection attempts.
type sender struct {
	name   string
	addr   string
	dialer nsca.Dialer
	max    int // output bytes a packet carries
	logger *slog.Logger

	mu    sync.Mutex
	queue []nsca.Packet
	// first is the sequence number of queue[0], so a flush can tell
	// what it sent from what Put dropped off the front meanwhile.
	first   uint64
	dropped int
	sent    int
	wake    chan struct{}
}

func newForwarder(targets []config.Target, logger *slog.Logger) (*forwarder, error) {
	f := &forwarder{logger: logger}
	for _, t := range targets {
		pw, err := t.Password()
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Address, err)
		}
		max := nsca.MaxOutput
		if t.Legacy {
			max = nsca.MaxLegacyOutput
		}
		f.senders = append(f.senders, &sender{
			name:   t.Address,
			addr:   t.Address,
			dialer: nsca.Dialer{Method: t.Method, Password: pw, Legacy: t.Legacy, Timeout: t.Timeout.Duration},
			max:    max,
			logger: logger.With("target", t.Address),
			wake:   make(chan struct{}, 1),
		})
	}
	return f, nil
}

// Put queues r for every target. It never blocks on the network: a full
// queue drops its oldest result, counted.
func (f *forwarder) Put(_ context.Context, r check.Result) error {
	p := nsca.Packet{ReturnCode: int16(r.State), Host: r.Host, Service: r.Service}
	out := r.PluginOutput()
	for _, s := range f.senders {
		p.Output = nsca.TruncateOutput(out, s.max)
		s.put(p)
	}
	return nil
}

func (s *sender) put(p nsca.Packet) {
	s.mu.Lock()
	if len(s.queue) >= queueLimit {
		s.queue = s.queue[1:]
		s.first++
		s.dropped++
	}
	s.queue = append(s.queue, p)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// start runs one goroutine per target until ctx ends; stop waits for them.
func (f *forwarder) start(ctx context.Context) {
	for _, s := range f.senders {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			s.run(ctx)
		}()
	}
}

// drain gives the senders until ctx ends to send what they still hold, then
// reports what is left, which is lost.
func (f *forwarder) drain(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range f.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s.pending() > 0 && ctx.Err() == nil {
				if err := s.flush(ctx); err != nil {
					break
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if n := len(s.queue); n > 0 {
				s.logger.Warn("results not sent before stopping; lost (no spool yet)", "results", n)
			}
		}()
	}
	wg.Wait()
}

func (f *forwarder) wait() { f.wg.Wait() }

func (s *sender) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

func (s *sender) run(ctx context.Context) {
	backoff := time.Duration(0)
	tick := time.NewTicker(flushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
		for s.pending() > 0 {
			err := s.flush(ctx)
			if err == nil {
				backoff = 0
				continue
			}
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, time.Second), maxBackoff)
			// Jitter so agents cut off by the same outage do not all
			// come back in the same second.
			d := backoff/2 + rand.N(backoff/2+1)
			s.logger.Warn("send failed; results kept in memory", "err", err, "queued", s.pending(), "retry_in", d.Round(time.Millisecond))
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
	}
}

// flush sends up to batchLimit queued packets over one connection and
// removes those written. nsca never acknowledges, so written is all we know.
func (s *sender) flush(ctx context.Context) error {
	s.mu.Lock()
	batch := append([]nsca.Packet(nil), s.queue[:min(len(s.queue), batchLimit)]...)
	start := s.first
	dropped := s.dropped
	s.dropped = 0
	s.mu.Unlock()
	if dropped > 0 {
		s.logger.Warn("queue full: oldest results dropped", "dropped", dropped, "limit", queueLimit)
	}
	if len(batch) == 0 {
		return nil
	}
	conn, err := s.dialer.Dial(ctx, s.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	n, err := conn.SendBatch(ctx, batch)
	s.mu.Lock()
	if end := start + uint64(n); end > s.first {
		s.queue = s.queue[end-s.first:]
		s.first = end
	}
	s.sent += n
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.logger.Debug("sent", "results", n)
	return nil
}
