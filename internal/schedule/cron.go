package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
)

// ErrCron is wrapped by every error ParseCron returns.
var ErrCron = errors.New("invalid cron spec")

// cronParser takes the five standard fields and the @ descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a standard five-field cron spec or a descriptor such as
// @daily, optionally prefixed by "CRON_TZ=Zone " or "TZ=Zone ". Without a
// prefix the spec follows the agent's local time zone. @every is refused:
// a check that repeats at a fixed interval sets interval instead, which
// also gives it a deterministic phase.
//
// Parsing and field matching are github.com/robfig/cron/v3 v3.0.1; this
// wrapper keeps its known faults away from users:
//
//   - A bad, empty or missing zone is an error. v3.0.1 slices with index -1
//     and panics on a prefix with no fields after it ("CRON_TZ=UTC"), so
//     the prefix is split and loaded here and robfig never sees it; a
//     second prefix is refused for the same reason; and a recover turns any
//     other panic inside the parser into an error.
//   - A spec that can never fire ("0 0 30 2 *", or a field of bare commas,
//     which v3.0.1 takes as an empty set) is an error, where robfig would
//     accept it and later return the zero time.
//   - robfig's Next steps through real time in the zone, which around DST
//     changes skips a job inside the spring-forward gap, runs a job inside
//     the fall-back repeat twice, and can skip a whole day whose midnight
//     does not exist. So robfig is asked only for matching wall-clock times,
//     in UTC where no clock jumps, and this wrapper maps each wall time to
//     an instant in the zone itself, as ISC cron does: a spec that names
//     hours runs once per wall-clock time, in the first pass through a
//     repeated hour and at the moment of the jump for a time in a gap; a
//     spec that runs every hour follows elapsed time, so it runs in both
//     passes of a repeated hour and skips the missing one.
//   - robfig searches only five years ahead; Next searches on until the
//     spec fires (Feb 29 can be eight years away across a century).
func ParseCron(spec string) (s Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%w %q: parser failed: %v", ErrCron, spec, r)
		}
	}()
	loc, fields, err := splitZone(strings.TrimSpace(spec))
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrCron, spec, err)
	}
	switch {
	case fields == "":
		return nil, fmt.Errorf("%w %q: no schedule fields", ErrCron, spec)
	case strings.HasPrefix(fields, "@every"):
		return nil, fmt.Errorf("%w %q: @every is not supported, set an interval instead", ErrCron, spec)
	case strings.HasPrefix(fields, "TZ=") || strings.HasPrefix(fields, "CRON_TZ="):
		return nil, fmt.Errorf("%w %q: time zone given twice", ErrCron, spec)
	}
	parsed, err := cronParser.Parse(fields)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrCron, spec, err)
	}
	ss, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%w %q: unsupported schedule type %T", ErrCron, spec, parsed)
	}
	wall := *ss
	wall.Location = time.UTC
	cs := &cronSchedule{
		wall:      &wall,
		loc:       loc,
		everyHour: ss.Hour&allHours == allHours,
	}
	if !cs.fires() {
		return nil, fmt.Errorf("%w %q: never fires", ErrCron, spec)
	}
	return cs, nil
}

const allHours = 1<<24 - 1

// splitZone separates a CRON_TZ= or TZ= prefix from the fields.
func splitZone(spec string) (*time.Location, string, error) {
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		rest, ok := strings.CutPrefix(spec, prefix)
		if !ok {
			continue
		}
		i := strings.IndexFunc(rest, unicode.IsSpace)
		if i < 0 {
			return nil, "", fmt.Errorf("%s%s has no schedule fields after it", prefix, rest)
		}
		name := rest[:i]
		if name == "" {
			return nil, "", fmt.Errorf("%s names no time zone", prefix)
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil, "", fmt.Errorf("time zone %q: %w", name, err)
		}
		return loc, strings.TrimSpace(rest[i:]), nil
	}
	return time.Local, spec, nil
}

// cronSchedule is a parsed cron spec in its zone.
type cronSchedule struct {
	// wall matches wall-clock times; its Location is UTC, which has no
	// DST, so robfig's stepping is exact there.
	wall *cron.SpecSchedule
	loc  *time.Location
	// everyHour is true when the hour field allows all 24 hours: the spec
	// then follows elapsed time through DST changes instead of wall time.
	everyHour bool
}

// maxFold bounds how far a zone's clock ever jumps back (double summer
// time moved two hours). Wall times this far apart keep their order.
const maxFold = 3 * time.Hour

// Next returns the first run time strictly after after, or the zero time
// if none is found, which fires() rules out at parse time.
func (s *cronSchedule) Next(after time.Time) time.Time {
	a := after.In(s.loc)
	w := wallOf(a)
	if s.everyHour && s.foldBetween(a, a.Add(maxFold)) {
		// Once the clock jumps back, runs in the repeated hour have wall
		// times before after's own; start early enough to see them.
		w = w.Add(-maxFold)
	}
	var best, bestWall time.Time
	for range 5000 {
		if !best.IsZero() && (!s.everyHour || w.Sub(bestWall) >= maxFold || !s.foldBetween(after, best)) {
			// Outside a fold, instants keep the order of their wall
			// times, so no later wall time can beat best.
			break
		}
		if w = s.nextWall(w); w.IsZero() {
			break
		}
		ts, n := s.instants(w)
		for _, t := range ts[:n] {
			if t.After(after) && (best.IsZero() || t.Before(best)) {
				best, bestWall = t, w
			}
		}
	}
	if best.IsZero() {
		return best
	}
	return best.In(after.Location())
}

// nextWall returns the first matching wall time (in the UTC frame) after w.
func (s *cronSchedule) nextWall(w time.Time) time.Time {
	for range 4 {
		next := s.wall.Next(w)
		if !next.IsZero() {
			return next
		}
		// robfig gave up at the end of its five-year window: go on from there.
		w = time.Date(w.Year()+5, time.December, 31, 23, 59, 59, 0, time.UTC)
	}
	return time.Time{}
}

// instants maps a wall time, expressed in UTC, to the instants at which the
// spec runs for it in s.loc: one normally; the first pass only, or both for
// an every-hour spec, when a fall-back repeats it; the moment of the jump,
// or none for an every-hour spec, when spring-forward skips it.
func (s *cronSchedule) instants(w time.Time) (ts [2]time.Time, n int) {
	base := w.Unix()
	// An instant whose wall reading is w lies within 14h of base (the
	// largest UTC offsets), so only zone periods in that window matter.
	const window = 15 * 3600
	t := time.Unix(base-window, 0).In(s.loc)
	var gap time.Time
	for {
		_, off := t.Zone()
		if c := time.Unix(base-int64(off), 0).In(s.loc); wallOf(c).Unix() == base {
			if n == 0 || !ts[n-1].Equal(c) {
				if n < len(ts) {
					ts[n] = c
					n++
				}
			}
		}
		_, end := t.ZoneBounds()
		if end.IsZero() || end.Unix() > base+window {
			break
		}
		_, before := end.Add(-time.Second).Zone()
		_, after := end.Zone()
		if after > before && base >= end.Unix()+int64(before) && base < end.Unix()+int64(after) {
			gap = end
		}
		t = end
	}
	if n == 2 && ts[1].Before(ts[0]) {
		ts[0], ts[1] = ts[1], ts[0]
	}
	switch {
	case n == 0 && !gap.IsZero() && !s.everyHour:
		ts[0], n = gap, 1
	case n == 2 && !s.everyHour:
		n = 1
	}
	return ts, n
}

// foldBetween reports whether s.loc's clock jumps back in (from, to].
func (s *cronSchedule) foldBetween(from, to time.Time) bool {
	t := from.In(s.loc)
	for range 100 {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.After(to) {
			return false
		}
		_, before := end.Add(-time.Second).Zone()
		if _, after := end.Zone(); after < before {
			return true
		}
		t = end
	}
	return false
}

// wallOf returns t's wall-clock reading as a UTC time.
func wallOf(t time.Time) time.Time {
	_, off := t.Zone()
	return time.Unix(t.Unix()+int64(off), int64(t.Nanosecond())).UTC()
}

// fires reports whether some day matches the spec, by robfig's rule: if
// either day field is "*", a day must match both; otherwise either.
func (s *cronSchedule) fires() bool {
	const star = 1 << 63
	sp := s.wall
	// A field of bare commas parses to an empty set in v3.0.1.
	if sp.Minute&(1<<60-1) == 0 || sp.Hour&allHours == 0 ||
		sp.Month&(1<<13-2) == 0 || sp.Dow&(1<<7-1) == 0 || sp.Dom&(1<<32-2) == 0 {
		return false
	}
	if sp.Dom&star == 0 && sp.Dow&star == 0 {
		return true // either matches, and every month has every weekday
	}
	if sp.Dow&(1<<7-1) != 1<<7-1 && sp.Dom&star != 0 {
		return true // some weekday in any month, every day of the month allowed
	}
	daysIn := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for m := 1; m <= 12; m++ {
		if sp.Month&(1<<m) == 0 {
			continue
		}
		for d := 1; d <= daysIn[m]; d++ {
			if sp.Dom&(1<<d) != 0 {
				return true
			}
		}
	}
	return false
}
