package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests name zones; make them work on any machine
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustCron(t testing.TB, spec string) Schedule {
	t.Helper()
	s, err := ParseCron(spec)
	if err != nil {
		t.Fatalf("ParseCron(%q): %v", spec, err)
	}
	return s
}

func TestCronNext(t *testing.T) {
	utc := time.UTC
	from := time.Date(2024, 5, 15, 10, 7, 30, 0, utc) // a Wednesday
	tests := []struct {
		spec string
		want []time.Time
	}{
		{"CRON_TZ=UTC */15 * * * *", []time.Time{
			time.Date(2024, 5, 15, 10, 15, 0, 0, utc),
			time.Date(2024, 5, 15, 10, 30, 0, 0, utc),
			time.Date(2024, 5, 15, 10, 45, 0, 0, utc),
		}},
		{"CRON_TZ=UTC 0 6 * * *", []time.Time{
			time.Date(2024, 5, 16, 6, 0, 0, 0, utc),
			time.Date(2024, 5, 17, 6, 0, 0, 0, utc),
		}},
		{"TZ=UTC 30 8 * * mon-fri", []time.Time{
			time.Date(2024, 5, 16, 8, 30, 0, 0, utc),
			time.Date(2024, 5, 17, 8, 30, 0, 0, utc),
			time.Date(2024, 5, 20, 8, 30, 0, 0, utc),
		}},
		{"CRON_TZ=UTC @daily", []time.Time{
			time.Date(2024, 5, 16, 0, 0, 0, 0, utc),
			time.Date(2024, 5, 17, 0, 0, 0, 0, utc),
		}},
		{"CRON_TZ=UTC @monthly", []time.Time{time.Date(2024, 6, 1, 0, 0, 0, 0, utc)}},
		{"CRON_TZ=UTC 0 0 29 2 *", []time.Time{
			time.Date(2028, 2, 29, 0, 0, 0, 0, utc),
			time.Date(2032, 2, 29, 0, 0, 0, 0, utc),
		}},
		// Tokyo is UTC+9: 06:00 there is 21:00 UTC the day before.
		{"CRON_TZ=Asia/Tokyo 0 6 * * *", []time.Time{
			time.Date(2024, 5, 15, 21, 0, 0, 0, utc),
			time.Date(2024, 5, 16, 21, 0, 0, 0, utc),
		}},
		{"  CRON_TZ=Asia/Tokyo\t  0 6 * * *  ", []time.Time{time.Date(2024, 5, 15, 21, 0, 0, 0, utc)}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s := mustCron(t, tt.spec)
			at := from
			for i, want := range tt.want {
				at = s.Next(at)
				if !at.Equal(want) {
					t.Fatalf("run %d = %v, want %v", i, at, want)
				}
			}
		})
	}
}

func TestCronNextIsStrictlyAfter(t *testing.T) {
	s := mustCron(t, "CRON_TZ=UTC 0 6 * * *")
	at := time.Date(2024, 5, 16, 6, 0, 0, 0, time.UTC)
	if got, want := s.Next(at), at.AddDate(0, 0, 1); !got.Equal(want) {
		t.Errorf("Next(a run time) = %v, want %v", got, want)
	}
	if got := s.Next(at.Add(-time.Nanosecond)); !got.Equal(at) {
		t.Errorf("Next(just before) = %v, want %v", got, at)
	}
}

func TestCronDefaultsToLocalTime(t *testing.T) {
	s := mustCron(t, "0 6 * * *")
	got := s.Next(time.Date(2024, 5, 15, 12, 0, 0, 0, time.Local)).In(time.Local)
	if h, m, _ := got.Clock(); h != 6 || m != 0 {
		t.Errorf("Next = %v, want 06:00 local", got)
	}
}

func TestParseCronErrors(t *testing.T) {
	tests := []struct{ spec, says string }{
		{"", "no schedule fields"},
		{"   ", "no schedule fields"},
		{"CRON_TZ=UTC", "no schedule fields after it"},
		{"TZ=UTC", "no schedule fields after it"},
		{"CRON_TZ=", "no schedule fields after it"},
		{"CRON_TZ= 0 0 * * *", "names no time zone"},
		{"CRON_TZ=Nowhere/Bogus 0 0 * * *", `time zone "Nowhere/Bogus"`},
		{"TZ=../../etc/passwd 0 0 * * *", "time zone"},
		{"CRON_TZ=UTC TZ=UTC", "time zone given twice"},
		{"CRON_TZ=UTC CRON_TZ=UTC 0 0 * * *", "time zone given twice"},
		{"CRON_TZ=UTC  ", "no schedule fields"},
		{"@every 5m", "set an interval"},
		{"CRON_TZ=UTC @every 1h", "set an interval"},
		{"@fortnightly", "unrecognized descriptor"},
		{"0 0 * *", "expected exactly 5 fields"},
		{"0 0 0 * * *", "expected exactly 5 fields"},
		{"60 * * * *", "above maximum"},
		{"* 24 * * *", "above maximum"},
		{"*/0 * * * *", "positive number"},
		{"0 0 30 2 *", "never fires"},
		{"0 , 1 1 0", "never fires"},
		{"0 0 31 4,6,9,11 *", "never fires"},
		{"CRON_TZ=Europe/Berlin 0 0 31 2 *", "never fires"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := ParseCron(tt.spec)
			if err == nil {
				t.Fatalf("ParseCron(%q) = %v, want an error", tt.spec, s)
			}
			if !errors.Is(err, ErrCron) {
				t.Errorf("error %v does not wrap ErrCron", err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
		})
	}
}

func TestParseCronFiresOnRareDays(t *testing.T) {
	// Both day fields restricted means either matches, as in cron(8).
	for _, spec := range []string{"0 0 30 2 mon", "0 0 31 * *", "0 0 * 2 sun", "0 0 29 2 *"} {
		if _, err := ParseCron(spec); err != nil {
			t.Errorf("ParseCron(%q): %v", spec, err)
		}
	}
}
