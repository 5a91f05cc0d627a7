package spooler

import (
	"math/rand/v2"
	"time"
)

// firstBackoff is the wait after a target's first failure; it doubles
// with each further one, up to the configured cap.
const firstBackoff = time.Second

// backoff is the wait after the n-th consecutive failure (n >= 1): 1s
// doubling up to max, then "half jitter", a uniform pick in [d/2, d]. The
// jitter spreads agents that lost the same server at the same moment, so
// they do not all come back in the same second; keeping half of d keeps a
// dead server from being retried much faster than the schedule says.
// randN(k) returns a number in [0, k).
func backoff(n int, max time.Duration, randN func(int64) int64) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return d - half + time.Duration(randN(int64(half)+1))
}

func randInt64N(n int64) int64 { return rand.Int64N(n) }
