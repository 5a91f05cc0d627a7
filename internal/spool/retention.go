package spool

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"
)

const maxTime = math.MaxInt64

type dropReason int

const (
	dropAge dropReason = iota
	dropBytes
	dropCorrupt
)

func (r dropReason) String() string {
	return [...]string{"age", "bytes", "corrupt"}[r]
}

// recordsInLocked counts the indexed records with lo < seq <= hi.
func (s *Spool) recordsInLocked(lo, hi uint64) uint64 {
	var n uint64
	for _, sg := range s.segs {
		n += sg.recordsIn(lo, hi)
	}
	return n
}

// segIndexLocked returns the index of the first non-empty segment holding
// a record at or after seq, or -1.
func (s *Spool) segIndexLocked(seq uint64) int {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].last() >= seq })
	for ; i < len(s.segs); i++ {
		if s.segs[i].count > 0 {
			return i
		}
	}
	return -1
}

// expireLocked drops, by raising the floor, every record whose Time is
// before Now()-MaxAge, and every record older (by seq) than one of those,
// so expiry always cuts a prefix and a clock that went back cannot leave
// stale records behind newer ones. It costs one comparison unless
// something has actually expired.
func (s *Spool) expireLocked() {
	cutoff := s.now().Add(-s.maxAge).UnixNano()
	if cutoff <= s.expiryBound {
		return
	}
	if f := s.ageFloorLocked(cutoff); f > s.floor {
		s.dropPrefixLocked(f, dropAge)
	}
	s.expiryBound = s.minTimeAboveLocked(s.floor)
}

// ageFloorLocked returns the highest seq above the floor whose Time is
// before cutoff, or the floor if there is none. Segment and block minimum
// times narrow the search to one block, whose headers are then read.
func (s *Spool) ageFloorLocked(cutoff int64) uint64 {
	for i := len(s.segs) - 1; i >= 0; i-- {
		sg := s.segs[i]
		if sg.count == 0 || sg.minTime >= cutoff {
			continue
		}
		if sg.last() <= s.floor {
			break
		}
		if sg.maxTime < cutoff {
			return sg.last()
		}
		for b := len(sg.blocks) - 1; b >= 0; b-- {
			if sg.blocks[b].minTime >= cutoff {
				continue
			}
			found := s.floor
			err := s.blockTimes(sg, b, func(seq uint64, t int64) {
				if t < cutoff && seq > found {
					found = seq
				}
			})
			if err != nil {
				// Unreadable: readers will fail on it too and say so;
				// dropping records on a guess would be worse.
				s.log.Error("spool: cannot read segment for retention", "file", sg.path, "err", err)
			}
			return found
		}
	}
	return s.floor
}

// minTimeAboveLocked returns the earliest Time among records above floor
// (maxTime if none), reading the headers of at most one block.
func (s *Spool) minTimeAboveLocked(floor uint64) int64 {
	least := int64(maxTime)
	for _, sg := range s.segs {
		if sg.count == 0 || sg.last() <= floor {
			continue
		}
		if sg.first > floor {
			least = min(least, sg.minTime)
			continue
		}
		edge := (floor + 1 - sg.first) / blockRecords
		for b := int(edge) + 1; b < len(sg.blocks); b++ {
			least = min(least, sg.blocks[b].minTime)
		}
		err := s.blockTimes(sg, int(edge), func(seq uint64, t int64) {
			if seq > floor {
				least = min(least, t)
			}
		})
		if err != nil {
			least = min(least, sg.blocks[edge].minTime) // a safe underestimate
		}
	}
	return least
}

// blockTimes calls fn with the seq and Time of each record in block b of
// sg, reading only frame headers.
func (s *Spool) blockTimes(sg *segment, b int, fn func(seq uint64, t int64)) error {
	f, err := openRead(sg.path)
	if err != nil {
		return err
	}
	defer f.Close()
	fr := newFrameReader(f, sg.blocks[b].off, sg.size)
	defer fr.release()
	seq := sg.first + uint64(b)*blockRecords
	for k := 0; k < blockRecords && seq <= sg.last(); k, seq = k+1, seq+1 {
		fm, err := fr.next(false)
		if err != nil {
			return err
		}
		fn(fm.seq, fm.time)
	}
	return nil
}

// dropPrefixLocked raises the floor to newFloor and counts, for each
// cursor, the dropped records it had neither consumed nor already had
// counted.
func (s *Spool) dropPrefixLocked(newFloor uint64, why dropReason) {
	total := s.recordsInLocked(s.floor, newFloor)
	var hit []string
	perCursor := map[string]uint64{}
	if !s.ro {
		for _, c := range s.cursors {
			from := max(c.pos, c.acc, s.floor)
			if newFloor <= from {
				continue
			}
			if n := s.recordsInLocked(from, newFloor); n > 0 {
				c.drops.add(why, n)
				c.dirty = true
				hit = append(hit, fmt.Sprintf("%s=%d", c.name, n))
				perCursor[c.name] = n
			}
			c.acc = newFloor
		}
	}
	clamp := int64(maxTime)
	if why == dropAge {
		clamp = s.now().Add(-s.maxAge).UnixNano()
	}
	s.noteLossLocked(why, total, s.floor+1, newFloor, perCursor, clamp)
	s.floor = newFloor
	s.dropped.add(why, total)
	if total > 0 && !s.ro {
		sort.Strings(hit)
		s.log.Warn("spool: records dropped", "dir", s.dir, "reason", why.String(), "records", total,
			"through_seq", newFloor, "cursors", strings.Join(hit, ","))
	}
}

// countLostLocked counts records lost to corruption, seqs lo..hi, which
// are no longer in any segment, against the cursors that had not yet
// consumed them.
func (s *Spool) countLostLocked(lo, hi uint64, file string) {
	if hi < lo {
		return
	}
	var hit []string
	perCursor := map[string]uint64{}
	for _, c := range s.cursors {
		from := max(c.pos, c.acc, lo-1)
		if hi > from {
			c.drops.add(dropCorrupt, hi-from)
			c.dirty = true
			hit = append(hit, fmt.Sprintf("%s=%d", c.name, hi-from))
			perCursor[c.name] = hi - from
		}
	}
	s.noteLossLocked(dropCorrupt, hi-lo+1, lo, hi, perCursor, maxTime)
	s.dropped.add(dropCorrupt, hi-lo+1)
	sort.Strings(hit)
	s.log.Warn("spool: records dropped", "dir", s.dir, "reason", dropCorrupt.String(), "records", hi-lo+1,
		"seqs", fmt.Sprintf("%d-%d", lo, hi), "file", file, "cursors", strings.Join(hit, ","))
}

// retain applies every retention rule: age, then bytes (counting extra
// bytes about to be written), then persists the drop counts and deletes
// the segments nothing needs any more. Called with metaMu held.
func (s *Spool) retain(extra int64) {
	s.mu.Lock()
	s.expireLocked()
	total := s.bytes + extra
	var through uint64
	for _, sg := range s.segs[:len(s.segs)-1] {
		if total <= s.maxBytes {
			break
		}
		total -= sg.size
		through = sg.last()
	}
	if through > s.floor {
		s.dropPrefixLocked(through, dropBytes)
		s.expiryBound = s.minTimeAboveLocked(s.floor)
	}
	s.mu.Unlock()
	s.removeSegments()
}

// removeSegments deletes the oldest segments whose records are all either
// dropped or consumed by every cursor (with no cursors, nothing counts as
// consumed). Drop counts are persisted first: a crash in between leaves
// the segment, whose drops the cursors' accounted seqs say are counted,
// never a count lost with its segment. The active segment is never
// deleted. Called with metaMu held.
func (s *Spool) removeSegments() {
	if err := s.flushCursors(); err != nil {
		s.log.Error("spool: cannot save drop counts; keeping segments until it works", "err", err)
		return
	}
	s.mu.Lock()
	done := s.floor
	if len(s.cursors) > 0 {
		least := uint64(math.MaxUint64)
		for _, c := range s.cursors {
			least = min(least, c.pos)
		}
		done = max(done, least)
	}
	n := 0
	for n < len(s.segs)-1 && s.segs[n].last() <= done {
		s.bytes -= s.segs[n].size
		n++
	}
	if n == 0 {
		s.mu.Unlock()
		return
	}
	gone := make([]*segment, n)
	copy(gone, s.segs[:n])
	s.segs = append(s.segs[:0:0], s.segs[n:]...)
	s.mu.Unlock()
	for _, sg := range gone {
		// A reader that still has the file open keeps its data; one that
		// opens it now gets ErrNotExist and looks the index up again.
		if err := os.Remove(sg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("spool: cannot delete segment; it is out of use and will be retried at the next start",
				"file", sg.path, "err", err)
		}
	}
}

// maintainLoop runs retention every minute, and when the committer sees
// something due, so records expire even while nothing is appended.
func (s *Spool) maintainLoop() {
	defer s.wg.Done()
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.maintKick:
		}
		s.metaMu.Lock()
		s.retain(0)
		s.metaMu.Unlock()
	}
}

// timeOfLocked returns the Time of record seq, which must be indexed.
func (s *Spool) timeOfLocked(sg *segment, seq uint64) (int64, error) {
	off, skip := sg.locate(seq)
	f, err := openRead(sg.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fr := newFrameReader(f, off, sg.size)
	defer fr.release()
	for {
		fm, err := fr.next(false)
		if errors.Is(err, io.EOF) {
			return 0, io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, err
		}
		if skip == 0 {
			return fm.time, nil
		}
		skip--
	}
}
