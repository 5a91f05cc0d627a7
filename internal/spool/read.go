package spool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"time"
)

// readSnap is what Read needs of one segment, copied under the lock so the
// file is read without it.
type readSnap struct {
	path string
	from uint64 // first seq to return
	last uint64 // last seq published when the snapshot was taken
	off  int64
	skip uint64 // frames between off and seq from
	end  int64
	// avail counts the retained records from seq from on, in all segments.
	avail uint64
}

// Read returns up to max records with seq > after, oldest first, or
// (nil, nil) when there is none. Records dropped by retention are never
// returned, so seqs may jump; the caller can count the gap. Only records
// whose Append has completed (written and synced) are returned. Data is
// read with positioned reads through a bounded window, and each returned
// record owns a copy of its data.
func (s *Spool) Read(ctx context.Context, after uint64, max int) ([]Record, error) {
	if max <= 0 {
		return nil, nil
	}
	var out []Record
	for retries := 0; len(out) < max; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		snap, ok, err := s.snapshot(after)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if out == nil {
			// Sized once: the slice is part of what Read allocates per call.
			out = make([]Record, 0, min(uint64(max), snap.avail))
		}
		n := len(out)
		out, err = readSegment(snap, out, max)
		if len(out) > n {
			after = out[len(out)-1].Seq
		}
		var fe *frameError
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist):
			// Retention or collection removed the segment after the
			// snapshot; the index no longer has it.
			if retries++; retries > 100 {
				return nil, fmt.Errorf("read spool %s: %s keeps disappearing: %w", s.dir, snap.path, err)
			}
			if s.ro {
				s.mu.Lock()
				err = s.refreshLocked()
				s.mu.Unlock()
				if err != nil {
					return nil, err
				}
			}
		case errors.As(err, &fe):
			// Damaged since Open verified it. Skip the rest of the
			// segment, as Open would; the next Open counts the loss.
			s.log.Error("spool: damaged segment; skipping the rest of it", "file", snap.path, "err", err)
			after = snap.last
		default:
			return nil, fmt.Errorf("read spool %s: %w", s.dir, err)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// snapshot finds the segment holding the first retained record after
// after; ok is false when there is none.
func (s *Spool) snapshot(after uint64) (readSnap, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return readSnap{}, false, ErrClosed
	}
	if s.ro {
		if err := s.refreshLocked(); err != nil {
			return readSnap{}, false, err
		}
	}
	s.expireLocked()
	from := max(after, s.floor) + 1
	i := s.segIndexLocked(from)
	if i < 0 {
		return readSnap{}, false, nil
	}
	sg := s.segs[i]
	from = max(from, sg.first)
	off, skip := sg.locate(from)
	avail := s.recordsInLocked(from-1, math.MaxUint64)
	return readSnap{path: sg.path, from: from, last: sg.last(), off: off, skip: skip, end: sg.size, avail: avail}, true, nil
}

// readSegment appends records of one segment to out until out holds
// limit, checking each frame's checksum and seq. On error, out holds the
// records read before it.
func readSegment(snap readSnap, out []Record, limit int) ([]Record, error) {
	f, err := openRead(snap.path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	fr := newFrameReader(f, snap.off, snap.end)
	defer fr.release()
	for range snap.skip {
		if _, err := fr.next(false); err != nil {
			return out, err
		}
	}
	var arena []byte
	for seq := snap.from; len(out) < limit && seq <= snap.last; seq++ {
		fm, err := fr.next(true)
		if err != nil {
			return out, err
		}
		if fm.seq != seq {
			return out, &frameError{fm.off, fmt.Sprintf("seq %d where %d was expected", fm.seq, seq)}
		}
		// Data is carved from buffers shared by the records of one call,
		// each sized as if the records still to come were like this one
		// (and never beyond what is left of the segment): records of
		// similar size take one allocation per call, not one each.
		if len(fm.data) > cap(arena)-len(arena) {
			want := int64(limit-len(out)) * int64(len(fm.data))
			want = min(want, snap.end-fm.off, maxArena)
			arena = make([]byte, 0, max(want, int64(len(fm.data))))
		}
		start := len(arena)
		arena = append(arena, fm.data...)
		out = append(out, Record{Seq: seq, Time: time.Unix(0, fm.time), Data: arena[start:len(arena):len(arena)]})
	}
	return out, nil
}

// maxArena caps one allocation for returned data.
const maxArena = 1 << 20

// Stats returns a snapshot of the spool and its cursors.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ro {
		if err := s.refreshLocked(); err != nil {
			s.log.Warn("spool: stats from a stale index", "err", err)
		}
	}
	if !s.closed {
		s.expireLocked()
	}
	st := Stats{
		Records: s.recordsInLocked(s.floor, math.MaxUint64),
		Bytes:   s.bytes,
		LastSeq: s.nextSeq - 1,
		Cursors: make(map[string]CursorStats, len(s.cursors)),
		Dropped: s.dropped,
	}
	st.FirstSeq, st.Oldest = s.firstAfterLocked(s.floor)
	for name, c := range s.cursors {
		cs := CursorStats{
			Position: c.pos,
			Pending:  s.recordsInLocked(max(c.pos, s.floor), math.MaxUint64),
			Dropped:  c.drops,
		}
		_, cs.Oldest = s.firstAfterLocked(max(c.pos, s.floor))
		st.Cursors[name] = cs
	}
	return st
}

// firstAfterLocked returns the seq and Time of the first record after seq
// after, or zeros.
func (s *Spool) firstAfterLocked(after uint64) (uint64, time.Time) {
	i := s.segIndexLocked(after + 1)
	if i < 0 {
		return 0, time.Time{}
	}
	sg := s.segs[i]
	seq := max(after+1, sg.first)
	t, err := s.timeOfLocked(sg, seq)
	if err != nil {
		s.log.Warn("spool: cannot read a record's time", "file", sg.path, "seq", seq, "err", err)
		return seq, time.Time{}
	}
	return seq, time.Unix(0, t)
}
