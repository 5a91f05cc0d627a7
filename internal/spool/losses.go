package spool

import (
	"maps"
	"time"
)

// Loss is one event of records leaving the spool before some cursor read
// them: retention by age or size, or damage found at open. Losses are what
// an agent must report; the per-cursor drop counts in Stats are totals
// that do not say when or which results.
type Loss struct {
	// Reason is "age" (older than MaxAge), "bytes" (over MaxBytes) or
	// "corrupt" (damaged on disk, cut at open).
	Reason string
	// Records is how many records left; Cursors says, per cursor, how many
	// of them it had not read (the others it had).
	Records uint64
	Cursors map[string]uint64
	// FirstSeq and LastSeq bound the seqs that left.
	FirstSeq, LastSeq uint64
	// From and To bound when the records that left were appended, as far
	// as the spool still knows it (from the segments they were in); zero
	// when it does not (a segment whose header was damaged).
	From, To time.Time
	// At is when they left.
	At time.Time
}

// maxLosses bounds the journal: a reader that fell this far behind has
// missed the oldest events, and Losses says so.
const maxLosses = 1024

// Losses returns the loss events after the first `after` since Open (0:
// all), and the count to pass next time. missed is how many events the
// journal no longer holds for this reader. Read-only spools record none.
func (s *Spool) Losses(after int) (events []Loss, next int, missed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next = s.lossBase + len(s.losses)
	from := after - s.lossBase
	if from < 0 {
		missed, from = -from, 0
	}
	for _, l := range s.losses[min(from, len(s.losses)):] {
		l.Cursors = maps.Clone(l.Cursors)
		events = append(events, l)
	}
	return events, next, missed
}

// noteLossLocked journals a loss of seqs lo..hi, timed from the segments
// that still hold them.
func (s *Spool) noteLossLocked(why dropReason, records, lo, hi uint64, cursors map[string]uint64, clampTo int64) {
	if records == 0 || s.ro {
		return
	}
	l := Loss{Reason: why.String(), Records: records, Cursors: cursors, FirstSeq: lo, LastSeq: hi, At: s.now()}
	from, to := int64(maxTime), int64(-maxTime)
	for _, sg := range s.segs {
		if sg.count == 0 || sg.last() < lo || sg.first > hi {
			continue
		}
		from, to = min(from, sg.minTime), max(to, sg.maxTime)
	}
	if from <= to {
		l.From, l.To = time.Unix(0, from), time.Unix(0, min(to, clampTo))
	}
	s.losses = append(s.losses, l)
	if len(s.losses) > maxLosses {
		k := len(s.losses) - maxLosses
		s.losses = append(s.losses[:0:0], s.losses[k:]...)
		s.lossBase += k
	}
}
