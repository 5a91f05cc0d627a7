package schedule

import (
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// localHasDST reports whether time.Local changes its UTC offset within the
// year after now: a daily cron spec in local time then has one 25h gap.
func localHasDST(now time.Time) bool {
	_, off := now.In(time.Local).Zone()
	for d := 1; d <= 366; d++ {
		if _, o := now.AddDate(0, 0, d).In(time.Local).Zone(); o != off {
			return true
		}
	}
	return false
}

func TestGapOfCron(t *testing.T) {
	// Before the 2026 spring change in Europe; the year after it holds
	// both changes.
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	var dst time.Duration
	if localHasDST(now) {
		dst = time.Hour // a spec in local time runs once across the fall-back
	}
	tests := []struct {
		spec string
		want time.Duration
	}{
		{"*/5 * * * *", 5 * time.Minute},
		{"0 6 * * *", 24*time.Hour + dst},
		{"CRON_TZ=UTC 0 6 * * *", 24 * time.Hour},
		{"0 6 * * 1-5", 72*time.Hour + dst},
		{"CRON_TZ=UTC 0 6 * * 1-5", 72 * time.Hour}, // Friday to Monday
		// 02:30 runs at the jump in spring (23.5h gaps) and in the first
		// pass of the repeated hour in autumn, so the next day's run is
		// 25h later.
		{"CRON_TZ=Europe/Berlin 30 2 * * *", 25 * time.Hour},
		{"CRON_TZ=UTC 0 0 1 1 *", 365 * 24 * time.Hour},
		// The next run is more than a year away: still one whole gap,
		// 2028-02-29 to 2032-02-29, not a day.
		{"CRON_TZ=UTC 0 6 29 2 *", (4*365 + 1) * 24 * time.Hour},
		{"not a cron spec", 24 * time.Hour},
		{"CRON_TZ=Nowhere/Atlantis 0 6 * * *", 24 * time.Hour},
		{"0 0 30 2 *", 24 * time.Hour}, // never fires: refused by the parser
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			if got := Gap(check.Check{Cron: tt.spec}, now); got != tt.want {
				t.Errorf("Gap(cron %q) = %v, want %v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestGapOfInterval(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		c    check.Check
		want time.Duration
	}{
		{check.Check{Interval: time.Minute}, time.Minute},
		// Retries never wait longer than the interval, so a long
		// retry_interval does not lengthen the gap, and a short one does
		// not shorten the longest.
		{check.Check{Interval: 30 * time.Second, RetryInterval: 2 * time.Minute, MaxAttempts: 3}, 30 * time.Second},
		{check.Check{Interval: 5 * time.Minute, RetryInterval: time.Minute, MaxAttempts: 3}, 5 * time.Minute},
		{check.Check{}, 24 * time.Hour},
	} {
		if got := Gap(tt.c, now); got != tt.want {
			t.Errorf("Gap(%+v) = %v, want %v", tt.c, got, tt.want)
		}
	}
}
