package schedule

import (
	"fmt"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// A thousand checks at one interval spread over it like independent
// uniform draws: each 1s bucket of 60 expects 1000/60 = 16.7 with a
// standard deviation of about 4. A phase that depends only on the check's
// own key cannot do better than that, and a spread any wider (a clump)
// fails the chi-square bound.
func TestOffsetSpreadsChecks(t *testing.T) {
	const n, interval = 1000, 60 * time.Second
	var buckets [60]int
	for i := range n {
		k := check.Key{Host: fmt.Sprintf("web%03d.example.com", i/10), Service: fmt.Sprintf("disk_%d", i%10)}
		off := Offset(k, interval)
		if off < 0 || off >= interval {
			t.Fatalf("Offset(%v) = %v, outside [0, %v)", k, off, interval)
		}
		buckets[off/time.Second]++
	}
	const mean = float64(n) / 60
	chi2 := 0.0
	for s, got := range buckets {
		if got < 1 || got > 32 { // four standard deviations
			t.Errorf("second %d holds %d checks, want 17 ± 16", s, got)
		}
		chi2 += (float64(got) - mean) * (float64(got) - mean) / mean
	}
	// 59 degrees of freedom: the 99.9th percentile is about 98.
	if chi2 > 98 {
		t.Errorf("chi-square %.1f over 60 buckets, the spread is not uniform: %v", chi2, buckets)
	}
	t.Logf("buckets %v, chi-square %.1f", buckets, chi2)
}

func TestOffsetIsStable(t *testing.T) {
	k := check.Key{Host: "db1", Service: "load"}
	first := Offset(k, time.Minute)
	for range 100 {
		if got := Offset(k, time.Minute); got != first {
			t.Fatalf("Offset changed from %v to %v", first, got)
		}
	}
	// Pinned so that a change of hash, which would move every check of
	// every agent at upgrade, is a deliberate one.
	if first != 41798091247 {
		t.Errorf("Offset(db1/load, 1m) = %d, pinned value changed", first)
	}
	// Host and service are kept apart: "ab"+"c" is not "a"+"bc".
	if Offset(check.Key{Host: "ab", Service: "c"}, time.Hour) == Offset(check.Key{Host: "a", Service: "bc"}, time.Hour) {
		t.Error("the NUL separator does not separate host and service")
	}
}

func TestIntervalSlots(t *testing.T) {
	k := check.Key{Host: "h", Service: "s"}
	s, err := Of(check.Check{Host: k.Host, Service: k.Service, Interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	off := Offset(k, time.Minute)
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC) // a whole minute since the epoch
	first := First(s, now)
	if want := now.Add(off); !first.Equal(want) {
		t.Fatalf("first run %v, want %v", first, want)
	}
	if got := First(s, first); !got.Equal(first) {
		t.Errorf("first run from a slot itself = %v, want that slot %v", got, first)
	}
	if got := First(s, first.Add(time.Nanosecond)); !got.Equal(first.Add(time.Minute)) {
		t.Errorf("first run just after a slot = %v, want the next slot", got)
	}
	at := first
	for i := range 5 {
		next := s.Next(at)
		if next.Sub(at) != time.Minute {
			t.Fatalf("run %d: %v after %v, want a minute", i, next, at)
		}
		if (next.UnixNano()-int64(off))%int64(time.Minute) != 0 {
			t.Fatalf("run %v is off its phase", next)
		}
		at = next
	}
}

func TestScheduleOfRefusesBadChecks(t *testing.T) {
	for _, c := range []check.Check{
		{Host: "h"},
		{Host: "h", Interval: -time.Second},
		{Host: "h", Interval: time.Minute, Cron: "* * * * *"},
		{Host: "h", Cron: "CRON_TZ=UTC"},
	} {
		if _, err := Of(c); err == nil {
			t.Errorf("Of(%+v) succeeded", c)
		}
	}
}
