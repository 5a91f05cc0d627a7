package schedule

import (
	"fmt"
	"testing"
	"time"
)

// dstDays are the 2024 clock changes of zones with a one-hour shift at
// 02:00 (New York), at 02:00/03:00 (Berlin), a 30-minute shift (Lord Howe),
// and one that skips midnight (Santiago).
var dstDays = []struct {
	zone         string
	spring, fall time.Time // the local calendar days of the changes
}{
	{"America/New_York", day(2024, 3, 10), day(2024, 11, 3)},
	{"Europe/Berlin", day(2024, 3, 31), day(2024, 10, 27)},
	{"Australia/Lord_Howe", day(2024, 10, 6), day(2024, 4, 7)},
	{"America/Santiago", day(2024, 9, 8), day(2024, 4, 7)},
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// Daily jobs at times inside each zone's spring gap (02:15, 02:30, and
// 00:00 in Santiago) and fall repeat (01:30, 01:45, 02:30 in Berlin, 23:30
// in Santiago) must run exactly once on every local day around the change.
func TestCronDailyRunsOncePerDayAcrossDST(t *testing.T) {
	times := []string{"0 0", "30 1", "45 1", "15 2", "30 2", "30 23"}
	for _, z := range dstDays {
		loc := mustLoad(t, z.zone)
		for _, change := range []time.Time{z.spring, z.fall} {
			for _, hm := range times {
				spec := fmt.Sprintf("CRON_TZ=%s %s * * *", z.zone, hm)
				t.Run(fmt.Sprintf("%s/%s", spec, change.Format(time.DateOnly)), func(t *testing.T) {
					s := mustCron(t, spec)
					y, m, d := change.Date()
					from := time.Date(y, m, d-1, 0, 0, 0, 0, loc).Add(-time.Second)
					until := time.Date(y, m, d+2, 0, 0, 0, 0, loc)
					perDay := map[string]int{}
					prev := from
					for at := s.Next(from); at.Before(until); at = s.Next(at) {
						if !at.After(prev) {
							t.Fatalf("Next(%v) = %v, not after it", prev, at)
						}
						perDay[at.In(loc).Format(time.DateOnly)]++
						prev = at
					}
					for i := -1; i <= 1; i++ {
						date := time.Date(y, m, d+i, 12, 0, 0, 0, loc).Format(time.DateOnly)
						if perDay[date] != 1 {
							t.Errorf("%s: %d runs, want 1 (all: %v)", date, perDay[date], perDay)
						}
					}
				})
			}
		}
	}
}

// The exact instants ISC cron would pick: a time in the gap runs at the
// moment of the jump, a repeated time runs in its first pass only.
func TestCronDSTInstants(t *testing.T) {
	tests := []struct {
		spec string
		from time.Time
		want string // RFC 3339 in the zone
	}{
		{"CRON_TZ=America/New_York 30 2 * * *", day(2024, 3, 10), "2024-03-10T03:00:00-04:00"},
		{"CRON_TZ=America/New_York 30 1 * * *", day(2024, 11, 3), "2024-11-03T01:30:00-04:00"},
		{"CRON_TZ=Europe/Berlin 30 2 * * *", day(2024, 3, 31), "2024-03-31T03:00:00+02:00"},
		{"CRON_TZ=Europe/Berlin 30 2 * * *", day(2024, 10, 27), "2024-10-27T02:30:00+02:00"},
		{"CRON_TZ=Australia/Lord_Howe 15 2 * * *", day(2024, 10, 5), "2024-10-06T02:30:00+11:00"},
		{"CRON_TZ=Australia/Lord_Howe 45 1 * * *", day(2024, 4, 6), "2024-04-07T01:45:00+11:00"},
		{"CRON_TZ=America/Santiago 0 0 * * *", day(2024, 9, 8), "2024-09-08T01:00:00-03:00"},
		{"CRON_TZ=America/Santiago 0 12 8 9 *", day(2024, 9, 1), "2024-09-08T12:00:00-03:00"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+" from "+tt.from.Format(time.DateOnly), func(t *testing.T) {
			got := mustCron(t, tt.spec).Next(tt.from)
			want, err := time.Parse(time.RFC3339, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want) {
				t.Errorf("Next = %v, want %v", got, want)
			}
		})
	}
}

// A spec that runs every hour follows elapsed time: the repeated hour runs
// twice and the missing one not at all, as in ISC cron.
func TestCronHourlyFollowsElapsedTimeAcrossDST(t *testing.T) {
	tests := []struct {
		zone string
		date time.Time
		spec string
		want int
	}{
		{"America/New_York", day(2024, 3, 10), "30 * * * *", 23},
		{"America/New_York", day(2024, 11, 3), "30 * * * *", 25},
		{"America/New_York", day(2024, 11, 3), "*/15 * * * *", 100},
		{"Europe/Berlin", day(2024, 10, 27), "0 * * * *", 25},
		{"Australia/Lord_Howe", day(2024, 4, 7), "*/15 * * * *", 98},
		{"Australia/Lord_Howe", day(2024, 10, 6), "*/15 * * * *", 94},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.spec+" "+tt.date.Format(time.DateOnly), func(t *testing.T) {
			loc := mustLoad(t, tt.zone)
			s := mustCron(t, "CRON_TZ="+tt.zone+" "+tt.spec)
			y, m, d := tt.date.Date()
			from := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
			until := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
			n := 0
			prev := from
			for at := s.Next(from); at.Before(until); at = s.Next(at) {
				if at.Sub(prev) <= 0 || (n > 0 && at.Sub(prev) > time.Hour) {
					t.Fatalf("run after %v at %v", prev, at)
				}
				prev = at
				n++
			}
			if n != tt.want {
				t.Errorf("%d runs, want %d", n, tt.want)
			}
		})
	}
}
