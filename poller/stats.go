package poller

import (
	"log/slog"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// Stats is a snapshot of the poller's counters, for the agent's own health
// service. Counters run from New; gauges describe the moment of the call.
type Stats struct {
	Scheduled int // checks in the last list Apply accepted
	Running   int // plugins running now, including their Sink.Put
	Waiting   int // checks that are due and wait for a free slot

	Started   uint64
	Completed uint64
	// Skipped counts due times that passed while the check was still
	// running or still waiting for a slot from its previous due time.
	Skipped    uint64
	SinkErrors uint64

	Lateness Lateness
}

// Lateness summarises actual start minus due time over every run since
// New. Percentiles are the upper bounds of histogram buckets, so they are
// never under-reported; memory is fixed however long the agent runs.
type Lateness struct {
	Count    uint64
	Max      time.Duration
	P50, P99 time.Duration
	// Sum and Buckets are the histogram itself, for Prometheus: Buckets
	// are cumulative, each counting the runs at most Le late, in
	// ascending Le; runs later than the last Le count only in Count.
	Sum     time.Duration    `json:"-"`
	Buckets []LatenessBucket `json:"-"`
}

// LatenessBucket is one bucket of the lateness histogram.
type LatenessBucket struct {
	Le    time.Duration
	Count uint64
}

// latencyBounds are the histogram's bucket upper bounds, roughly 1-2-5
// per decade from "on time" to ten minutes; anything later is Max's bucket.
var latencyBounds = [...]time.Duration{
	0, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
	20 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute,
	5 * time.Minute, 10 * time.Minute,
}

type latency struct {
	buckets [len(latencyBounds) + 1]uint64
	count   uint64
	sum     time.Duration
	max     time.Duration
}

func (l *latency) add(d time.Duration) {
	d = max(d, 0)
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	l.buckets[i]++
	l.count++
	l.sum += d
	l.max = max(l.max, d)
}

func (l *latency) summary() Lateness {
	s := Lateness{Count: l.count, Max: l.max, P50: l.quantile(0.50), P99: l.quantile(0.99), Sum: l.sum,
		Buckets: make([]LatenessBucket, len(latencyBounds))}
	var n uint64
	for i, le := range latencyBounds {
		n += l.buckets[i]
		s.Buckets[i] = LatenessBucket{Le: le, Count: n}
	}
	return s
}

func (l *latency) quantile(q float64) time.Duration {
	if l.count == 0 {
		return 0
	}
	rank := uint64(q*float64(l.count-1)) + 1
	var seen uint64
	for i, n := range l.buckets {
		seen += n
		if seen >= rank {
			if i < len(latencyBounds) {
				return min(latencyBounds[i], l.max)
			}
			break
		}
	}
	return l.max
}

// Stats returns a snapshot of the counters. It is safe from any goroutine.
func (p *Poller) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Lateness = p.late.summary()
	return s
}

// rateLimit lets one log line through per period and counts the rest, so a
// dead spool does not flood the log with one line per result.
type rateLimit struct {
	last       time.Time
	suppressed int
}

const sinkLogPeriod = time.Minute

// sinkFailed counts a failed Put and logs it, at most once a minute.
func (p *Poller) sinkFailed(r check.Result, err error) {
	now := p.clock.Now()
	p.mu.Lock()
	p.stats.SinkErrors++
	rl := &p.sinkLog
	if !rl.last.IsZero() && now.Sub(rl.last) < sinkLogPeriod {
		rl.suppressed++
		p.mu.Unlock()
		return
	}
	suppressed := rl.suppressed
	rl.last, rl.suppressed = now, 0
	p.mu.Unlock()
	p.log.Error("poller: result not handed to sink", "host", r.Host, "service", r.Service,
		"err", err, slog.Int("suppressed_since_last", suppressed))
}
