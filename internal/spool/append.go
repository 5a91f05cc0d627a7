package spool

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

// appendReq is one Append call waiting for the committer.
type appendReq struct {
	// frames holds the call's records already framed, with seq, time and
	// checksum left for the committer: the caller does the copying, so a
	// caller that gives up on its context may reuse its buffers at once.
	frames []byte
	n      int // records
	first  uint64
	err    error
	done   chan struct{}
}

// Append adds records to the spool and returns the seq of the first; the
// others follow it consecutively. It returns only once every record is
// written and synced to disk (with the directory, when a new segment file
// was started), so they survive a crash or power loss from then on.
// Concurrent calls are committed together: one write and one sync per
// group of waiting callers.
//
// If ctx ends while Append waits, it returns ctx's error, but the records
// may still be written and become durable: a caller that retries may
// store them twice. Empty records are allowed; records larger than
// MaxRecord are refused and nothing is written. With no records Append
// returns (0, nil).
//
// After a failed sync the spool refuses further appends: what reached the
// disk is then unknown, and only reopening, which re-reads it, is safe.
func (s *Spool) Append(ctx context.Context, recs ...[]byte) (first uint64, err error) {
	if s.ro {
		return 0, s.readOnlyErr("append")
	}
	if len(recs) == 0 {
		return 0, nil
	}
	size := 0
	for i, r := range recs {
		if len(r) > MaxRecord {
			return 0, fmt.Errorf("append to spool %s: record %d is %d bytes, more than the %d allowed", s.dir, i, len(r), MaxRecord)
		}
		size += frameHeaderSize + len(r)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// Counted from before the copy, so a committer gathering a group
	// waits for callers that are still framing their records.
	s.inAppend.Add(1)
	defer s.leaveAppend()
	req := &appendReq{frames: make([]byte, 0, size), n: len(recs), done: make(chan struct{})}
	for _, r := range recs {
		req.frames = appendFrame(req.frames, 0, 0, r)
	}
	s.qmu.Lock()
	if s.closing {
		s.qmu.Unlock()
		return 0, ErrClosed
	}
	s.queue = append(s.queue, req)
	s.qmu.Unlock()
	s.wake()
	select {
	case <-req.done:
		return req.first, req.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// commitLoop is the single writer of the active segment. Everything queued
// while it writes and syncs one group becomes the next group, so the more
// callers wait, the more each sync carries.
func (s *Spool) commitLoop() {
	defer s.wg.Done()
	for {
		stopping := false
		select {
		case <-s.kick:
		case <-s.stop:
			stopping = true
		}
		for reqs := s.gather(); len(reqs) > 0; reqs = s.gather() {
			s.commit(reqs)
		}
		if stopping {
			return
		}
	}
}

func (s *Spool) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// leaveAppend wakes the committer, which may be gathering a group and
// waiting for this caller to come back or to leave for good.
func (s *Spool) leaveAppend() {
	s.inAppend.Add(-1)
	s.wake()
}

// gather takes the next group. Without waiting, writers that append
// one record at a time split into two cohorts that alternate, each
// syncing while the other refills, and each sync carries half of them.
// So while some caller is inside Append but not yet queued (framing its
// records, or just released and about to append again) the committer
// waits for it, up to gatherWait, and the cohorts merge. A lone writer
// never waits: it is in the group already.
func (s *Spool) gather() []*appendReq {
	reqs, size := s.take(nil, 0)
	if len(reqs) == 0 {
		return nil
	}
	var timer *time.Timer
	for int64(len(reqs)) < s.inAppend.Load() && size < maxGroupBytes {
		if timer == nil {
			timer = time.NewTimer(gatherWait)
			defer timer.Stop()
		}
		select {
		case <-s.kick:
		case <-timer.C:
			return reqs
		}
		reqs, size = s.take(reqs, size)
	}
	return reqs
}

// take moves queued requests onto group, up to maxGroupBytes in all (but
// always at least one request into an empty group).
func (s *Spool) take(group []*appendReq, size int) ([]*appendReq, int) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if group == nil {
		group = s.batch[:0]
	}
	n := 0
	for n < len(s.queue) && (len(group) == 0 || size+len(s.queue[n].frames) <= maxGroupBytes) {
		size += len(s.queue[n].frames)
		group = append(group, s.queue[n])
		n++
	}
	rest := copy(s.queue, s.queue[n:])
	clear(s.queue[rest:])
	s.queue = s.queue[:rest]
	s.batch = group
	return group, size
}

func finish(reqs []*appendReq, err error) {
	for _, r := range reqs {
		r.err = err
		close(r.done)
	}
}

// commit writes one group with one write call and one sync, then publishes
// it to readers and releases its callers.
func (s *Spool) commit(reqs []*appendReq) {
	if s.broken != nil {
		finish(reqs, s.broken)
		return
	}
	size := 0
	for _, r := range reqs {
		size += len(r.frames)
	}
	now := s.now().UnixNano()

	s.mu.Lock()
	act := s.segs[len(s.segs)-1]
	roll := act.count > 0 && act.size+int64(size) > s.segSize
	extra := int64(size)
	if roll {
		extra += segHeaderSize
	}
	over := s.bytes+extra > s.maxBytes
	due := now-int64(s.maxAge) > s.expiryBound
	seq := s.nextSeq
	s.mu.Unlock()

	if over {
		s.metaMu.Lock()
		s.retain(extra)
		s.metaMu.Unlock()
	}

	f, off := s.active, act.size
	buf := s.buf[:0]
	if roll {
		buf = append(buf, encodeSegHeader(seq)...)
		off = 0
	}
	s.offs = s.offs[:0]
	for _, r := range reqs {
		r.first = seq
		for i := 0; i < r.n; i++ {
			start := len(buf)
			n := int(binary.LittleEndian.Uint32(r.frames[:4]))
			buf = append(buf, r.frames[:frameHeaderSize+n]...)
			r.frames = r.frames[frameHeaderSize+n:]
			fr := buf[start:]
			binary.LittleEndian.PutUint64(fr[8:16], seq)
			binary.LittleEndian.PutUint64(fr[16:24], uint64(now))
			binary.LittleEndian.PutUint32(fr[4:8], frameCRC(fr))
			s.offs = append(s.offs, off+int64(start))
			seq++
		}
	}
	if cap(buf) <= 2*maxGroupBytes {
		s.buf = buf
	} else {
		s.buf = nil // a burst of large records; do not keep its buffer
	}

	var path string
	if roll {
		path = newSegment(s.dir, reqs[0].first).path
		nf, err := createSegmentFile(path)
		if err != nil {
			finish(reqs, fmt.Errorf("append to spool %s: start segment: %w", s.dir, err))
			return
		}
		f = nf
	}
	if _, err := f.WriteAt(buf, off); err != nil {
		// Nothing was acknowledged or published: take the partial write
		// back and carry on, since a full disk may clear. If that fails,
		// the file holds bytes the index does not, which the next write
		// would follow, so the spool stops taking appends.
		var undo error
		if roll {
			f.Close()
			undo = os.Remove(path)
		} else {
			undo = f.Truncate(off)
		}
		err = fmt.Errorf("append to spool %s: %w", s.dir, err)
		if undo != nil {
			s.broken = fmt.Errorf("%w (undoing the partial write failed: %v)", err, undo)
			err = s.broken
		}
		finish(reqs, err)
		return
	}
	err := datasync(f)
	if err == nil && roll {
		err = syncDir(s.dir)
	}
	if err != nil {
		s.broken = fmt.Errorf("append to spool %s: sync %s: %w", s.dir, f.Name(), err)
		s.log.Error("spool: sync failed; appends refused until the spool is reopened", "err", err)
		if roll {
			f.Close()
		}
		finish(reqs, s.broken)
		return
	}

	s.mu.Lock()
	if roll {
		act = newSegment(s.dir, reqs[0].first)
		s.segs = append(s.segs, act)
		s.bytes += segHeaderSize
	}
	for _, o := range s.offs {
		act.add(o, now)
	}
	act.size += int64(size)
	s.bytes += int64(size)
	s.nextSeq = seq
	s.expiryBound = min(s.expiryBound, now)
	s.mu.Unlock()
	if roll {
		s.active.Close()
		s.active = f
	}
	finish(reqs, nil)
	if due {
		select {
		case s.maintKick <- struct{}{}:
		default:
		}
	}
}
