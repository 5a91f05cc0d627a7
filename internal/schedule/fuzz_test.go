package schedule

import (
	"testing"
	"time"
)

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{
		"0 0 * * *", "CRON_TZ=UTC", "TZ=", "CRON_TZ=Nowhere/Bogus 0 0 * * *",
		"CRON_TZ=America/New_York 30 2 * * *", "@daily", "@every 1m", "0 0 30 2 *",
		"*/7 1-5/2 1,15 jan-mar mon-fri", "CRON_TZ=Australia/Lord_Howe */15 * * * *",
		"TZ=Europe/Berlin TZ=UTC", "? ? ? ? ?", "0 0 29 2 *",
	} {
		f.Add(s, int64(1718000000))
	}
	f.Fuzz(func(t *testing.T, spec string, unix int64) {
		s, err := ParseCron(spec) // must not panic
		if err != nil {
			return
		}
		// Any time between 1970 and 2200.
		const span = 230 * 365 * 24 * 3600
		after := time.Unix(((unix%span)+span)%span, unix&0xfff)
		next := s.Next(after)
		if next.IsZero() {
			t.Fatalf("%q: Next(%v) is the zero time", spec, after)
		}
		if !next.After(after) {
			t.Fatalf("%q: Next(%v) = %v, not after it", spec, after, next)
		}
	})
}
