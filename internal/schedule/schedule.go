package schedule

import (
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// Schedule yields a check's run times. Next returns the first run time
// strictly after its argument.
type Schedule interface {
	Next(after time.Time) time.Time
}

// Offset is the phase of a check with the given interval: the check runs at
// every time T where (T - Unix epoch) mod interval == Offset. It depends on
// nothing but the key, so the schedule survives restarts and reloads, and
// distinct keys scatter uniformly over the interval, so a thousand checks at
// the same interval do not all start in the same second.
//
// The hash is FNV-64a over host, NUL, service, followed by the SplitMix64
// finalizer: FNV alone lets names that differ only in a trailing digit land
// in neighbouring slots, and fleets are full of such names.
func Offset(k check.Key, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(k.Host))
	h.Write([]byte{0})
	h.Write([]byte(k.Service))
	return time.Duration(mix64(h.Sum64()) % uint64(interval))
}

// mix64 is the SplitMix64 finalizer: every input bit affects every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// intervalSchedule runs at the phase slots of one interval.
type intervalSchedule struct {
	every, offset time.Duration
}

// Next returns the first slot strictly after t.
func (s intervalSchedule) Next(t time.Time) time.Time {
	return s.atOrAfter(t.Add(1))
}

// atOrAfter returns the first slot at or after t. It works in Unix
// nanoseconds, which cover the years 1678 to 2262.
func (s intervalSchedule) atOrAfter(t time.Time) time.Time {
	n := t.UnixNano()
	every := int64(s.every)
	r := (n - int64(s.offset)) % every
	if r < 0 {
		r += every
	}
	if r == 0 {
		return t
	}
	return time.Unix(0, n-r+every).In(t.Location())
}

// ErrSchedule is wrapped by every error about a check's schedule.
var ErrSchedule = errors.New("invalid schedule")

// Of parses a check's schedule. Exactly one of Interval and Cron
// must be set; the config loader says so too, but the poller is the last
// line before a zero interval would spin the loop.
func Of(c check.Check) (Schedule, error) {
	switch {
	case c.Interval != 0 && c.Cron != "":
		return nil, fmt.Errorf("%w: both interval and cron are set", ErrSchedule)
	case c.Cron != "":
		s, err := ParseCron(c.Cron)
		if err != nil {
			return nil, err
		}
		return s, nil
	case c.Interval > 0:
		return intervalSchedule{every: c.Interval, offset: Offset(c.Key(), c.Interval)}, nil
	case c.Interval < 0:
		return nil, fmt.Errorf("%w: negative interval %v", ErrSchedule, c.Interval)
	}
	return nil, fmt.Errorf("%w: neither interval nor cron is set", ErrSchedule)
}

// First is when a newly scheduled check first runs: an interval check at
// its first phase slot at or after now, so a restart does not shift it; a
// cron check at its next cron time.
func First(s Schedule, now time.Time) time.Time {
	if is, ok := s.(intervalSchedule); ok {
		return is.atOrAfter(now)
	}
	return s.Next(now)
}

// Gap is the longest wait between two results of c while all is well: its
// interval, or the longest gap between two of its cron times over the
// coming year (from now), or for a check sent only on change, its
// heartbeat. A watch reports an unchanged state at its interval. A failing check's retries never lengthen it:
// the poller retries at the earlier of its retry interval and its next
// regular run, so retry_interval can only shorten the wait. Whoever judges
// a result overdue (Nagios' freshness threshold, Icinga's ttl) adds the
// run's own length, up to its timeout, and a margin of its own. A check
// whose schedule does not parse gets a day, so that it errs on the quiet
// side; it was validated where it came from.
func Gap(c check.Check, now time.Time) time.Duration {
	gap := scheduledGap(c, now)
	if c.SendOnChange && c.Heartbeat > gap {
		return c.Heartbeat // an unchanged result is sent again only then
	}
	return gap
}

func scheduledGap(c check.Check, now time.Time) time.Duration {
	if c.Cron == "" {
		if c.Interval > 0 {
			return c.Interval
		}
		return 24 * time.Hour
	}
	s, err := ParseCron(c.Cron)
	if err != nil {
		return 24 * time.Hour
	}
	return longestGap(s, now)
}

// Overdue is how long after a result of c the next may be missing before
// it is overdue: two of the longest gaps its schedule leaves (one result may
// be late or lost without a false alarm, and a restarted agent first runs a
// check at its next slot), its timeout, and slack for the spool's flush, the
// network and the receiver's own sweep. Nagios' freshness threshold and
// Icinga's ttl are this, so a healthy agent never looks stale and a dead
// one does within about two intervals.
func Overdue(c check.Check, now time.Time, slack time.Duration) time.Duration {
	return 2*Gap(c, now) + c.Timeout + slack
}

// longestGap walks s's run times over the year after now, and at least one
// gap when the next run is further away than that (a yearly spec).
func longestGap(s Schedule, now time.Time) time.Duration {
	var gap time.Duration
	prev := s.Next(now)
	end := now.AddDate(1, 0, 0)
	for i := 0; i < 10000 && (i == 0 || prev.Before(end)) && !prev.IsZero(); i++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		gap = max(gap, next.Sub(prev))
		prev = next
	}
	if gap == 0 {
		return 24 * time.Hour
	}
	return gap
}
