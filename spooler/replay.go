package spooler

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/spool"
)

// The replay policy exists because nsca 2.x stamps every result with the
// time it received it: a backlog sent as it is would show hours-old
// states as current in Nagios, and flood it with results nobody will
// read. So results older than the replay window are reduced to what a
// Nagios admin needs (every state change, and each service's latest old
// state) and say when they were really checked.

// oldRun is what a scan learned about a contiguous run of old records.
type oldRun struct {
	end  uint64               // seq of the run's last record
	last map[check.Key]uint64 // seq of each key's last old record
}

// firstScan is the size of a scan's first read.
const firstScan = 8

// scan reads ahead from after over the run of records checked before
// cutoff and returns where each key's last old record is. It holds one map
// entry per key, never the records, so a backlog of any length fits.
// Undecodable, unsendable and stale records do not end the run; the first
// record checked at or after cutoff does, as does the end of the Log.
//
// Reads start small and double up to a batch: a group lagging just behind
// the window's edge starts a scan for nearly every record it reaches, and
// such a scan ends after a record or two.
func (g *group) scan(ctx context.Context, after uint64, cutoff time.Time) (*oldRun, error) {
	run := &oldRun{end: after, last: map[check.Key]uint64{}}
	newest := map[check.Key]time.Time{} // later than g.newest where set
	for size := min(firstScan, g.cfg.batch); ; size = min(2*size, g.cfg.batch) {
		recs, err := g.cfg.log.Read(ctx, after, size)
		if err != nil {
			return nil, fmt.Errorf("read ahead over old records after seq %d: %w", after, err)
		}
		if len(recs) == 0 {
			return run, nil
		}
		for _, rec := range recs {
			var r check.Result
			if r.UnmarshalBinary(rec.Data) != nil || sendable(r) != nil {
				run.end = rec.Seq
				continue
			}
			ct := checkTime(r, rec)
			if !ct.Before(cutoff) {
				return run, nil
			}
			run.end = rec.Seq
			k := key(r)
			n, ok := newest[k]
			if !ok {
				n, ok = g.newest[k]
			}
			if ok && !ct.After(n) {
				continue // stale: prepare will skip it too
			}
			newest[k] = ct
			run.last[k] = rec.Seq
		}
		after = recs[len(recs)-1].Seq
	}
}

// repolicy applies the replay policy again to what waits in pending, as of
// now. A batch read while its results were recent and sent only after an
// outage longer than the window holds results that are old by now: they
// are marked as delayed and reduced to their state changes and each
// service's last, as if they had been old when read. The state a pending
// result changes from is the previous pending result's of its service, or
// else the last one sent; results the policy left out earlier never
// changed a state, so they do not matter here.
func (g *group) repolicy(now time.Time) {
	cutoff := now.Add(-g.cfg.window)
	aged := false
	for i := range g.pending {
		if it := &g.pending[i]; !it.old && it.checked.Before(cutoff) {
			it.old, aged = true, true
		}
	}
	if !aged {
		return
	}
	last := make(map[check.Key]int, len(g.pending))
	for i, it := range g.pending {
		last[it.key()] = i
	}
	prev := map[check.Key]check.State{}
	kept := g.pending[:0]
	var reduced uint64
	for i, it := range g.pending {
		k := it.key()
		st, seen := prev[k]
		if !seen {
			st, seen = g.sentState[k]
		}
		prev[k] = it.res.State
		if it.old && seen && st == it.res.State && last[k] != i {
			reduced++
			continue
		}
		kept = append(kept, it)
	}
	clear(g.pending[len(kept):])
	g.pending = kept
	g.statsMu.Lock()
	g.stats.Reduced += reduced
	g.statsMu.Unlock()
}

func (it *item) key() check.Key { return key(it.res) }

// delayPrefix marks an old result with how late it is and when it was
// checked, since Nagios will show it under the time it arrives.
func delayPrefix(delay time.Duration, checked time.Time) string {
	layout := "15:04:05Z"
	if delay > 24*time.Hour {
		layout = "2006-01-02T15:04:05Z"
	}
	return "[delayed " + formatDelay(delay) + ", checked " + checked.UTC().Format(layout) + "] "
}

// formatDelay renders d to the minute for a human: "<1m", "45m", "2h14m",
// and beyond a day to the hour: "3d2h". Zero parts are left out ("2h",
// "1d").
func formatDelay(d time.Duration) string {
	const day = 24 * time.Hour
	if d < time.Minute {
		return "<1m"
	}
	if m := d.Round(time.Minute); m < day {
		return units(int64(m/time.Hour), "h", int64(m%time.Hour/time.Minute), "m")
	}
	h := d.Round(time.Hour)
	return units(int64(h/day), "d", int64(h%day/time.Hour), "h")
}

// units writes "<a><ua><b><ub>", leaving out a zero part (not both).
func units(a int64, ua string, b int64, ub string) string {
	s := ""
	if a > 0 {
		s = strconv.FormatInt(a, 10) + ua
	}
	if b > 0 || a == 0 {
		s += strconv.FormatInt(b, 10) + ub
	}
	return s
}

// checkTime is when r was checked, or, for a result that does not say,
// when it was spooled.
func checkTime(r check.Result, rec spool.Record) time.Time {
	if r.CheckTime.IsZero() {
		return rec.Time
	}
	return r.CheckTime
}

func key(r check.Result) check.Key { return check.Key{Host: r.Host, Service: r.Service} }
