package spool

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

type repairKind int

const (
	repairTruncate repairKind = iota // cut the file after its last good frame
	repairRemove                     // delete the file
	repairReheader                   // empty the file and write a fresh header
)

// repair is one change load makes to a damaged segment, decided before
// any of them is applied so that drop counts can be saved first.
type repair struct {
	kind   repairKind
	path   string
	size   int64 // the file's size before the repair
	cut    int64 // what is kept
	why    string
	lostLo uint64 // seqs lostLo..lostHi were acknowledged and are gone
	lostHi uint64
}

// load builds the index from the directory; a writable spool also
// repairs what it finds, applies retention, and opens the active segment.
func (s *Spool) load() error {
	if s.ro {
		return s.refreshLocked()
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	var firsts []uint64
	for _, e := range entries {
		name := e.Name()
		switch first, isSeg := parseSegName(name); {
		case strings.HasSuffix(name, tmpSuffix):
			// A cursor save that was interrupted; the old file stands.
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
				return fmt.Errorf("open spool %s: %w", s.dir, err)
			}
		case isCursorFile(name):
			if err := s.loadCursor(name); err != nil {
				return err
			}
		case isSeg && e.Type().IsRegular():
			firsts = append(firsts, first)
		}
	}
	slices.Sort(firsts)

	var repairs []repair
	for i, first := range firsts {
		next := uint64(math.MaxUint64)
		if i+1 < len(firsts) {
			next = firsts[i+1]
		}
		sg, r, err := s.loadSegment(first, next, i == len(firsts)-1)
		if err != nil {
			return err
		}
		if r != nil {
			repairs = append(repairs, *r)
		}
		if sg != nil {
			s.segs = append(s.segs, sg)
		}
	}

	for _, sg := range s.segs {
		s.nextSeq = max(s.nextSeq, sg.next())
	}
	for _, r := range repairs {
		if r.lostHi >= r.lostLo && r.lostHi != 0 {
			s.nextSeq = max(s.nextSeq, r.lostHi+1)
		}
	}
	// A cursor can only have consumed seqs that existed, so this keeps
	// seqs unique even if segments vanished behind the spool's back.
	for _, c := range s.cursors {
		if c.pos != math.MaxUint64 {
			s.nextSeq = max(s.nextSeq, c.pos+1)
		}
	}

	if err := s.applyRepairs(repairs); err != nil {
		return err
	}
	if err := s.openActive(); err != nil {
		return err
	}
	for _, sg := range s.segs {
		s.bytes += sg.size
	}
	s.expiryBound = s.minTimeAboveLocked(s.floor)
	s.retain(0)
	return nil
}

// loadSegment indexes one segment file and says how it must be repaired.
// next is the first seq of the following segment (MaxUint64 for the last);
// a nil segment means the file is to go.
func (s *Spool) loadSegment(first, next uint64, last bool) (*segment, *repair, error) {
	sg := newSegment(s.dir, first)
	f, err := openRead(sg.path)
	if err != nil {
		return nil, nil, fmt.Errorf("open spool %s: %w", s.dir, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("open spool %s: %w", s.dir, err)
	}
	size := fi.Size()
	hdr := make([]byte, segHeaderSize)
	n, err := f.ReadAt(hdr, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("open spool %s: read %s: %w", s.dir, sg.path, err)
	}
	if herr := checkSegHeader(hdr[:n], first); herr != nil {
		if errors.Is(herr, errNewerFormat) {
			return nil, nil, fmt.Errorf("open spool %s: %s: %w (refusing to repair what a newer picket wrote)", s.dir, sg.path, herr)
		}
		if last {
			// Nothing past a damaged header can be trusted, and the file
			// name still says where seqs resume.
			return sg, &repair{kind: repairReheader, path: sg.path, size: size, why: herr.Error()}, nil
		}
		return nil, &repair{kind: repairRemove, path: sg.path, size: size, why: herr.Error(), lostLo: first, lostHi: next - 1}, nil
	}
	res, err := sg.scan(f, size, next-1)
	if err != nil {
		return nil, nil, fmt.Errorf("open spool %s: read %s: %w", s.dir, sg.path, err)
	}
	var r *repair
	if res.bad != nil {
		r = &repair{kind: repairTruncate, path: sg.path, size: size, cut: sg.size, why: res.bad.Error(), lostLo: sg.next()}
		if last {
			// A torn write leaves nothing valid behind it; anything that
			// does verify was acknowledged and is counted as lost.
			hi, err := survivors(f, res.bad.off, size, sg.next())
			if err != nil {
				return nil, nil, fmt.Errorf("open spool %s: read %s: %w", s.dir, sg.path, err)
			}
			r.lostHi = hi
		} else {
			r.lostHi = next - 1
		}
	}
	if sg.count == 0 && !last {
		if r == nil {
			r = &repair{why: "no records"}
		}
		r.kind, r.path, r.size = repairRemove, sg.path, size
		return nil, r, nil
	}
	return sg, r, nil
}

// applyRepairs logs each repair, saves the drop counts it causes, then
// changes the files: a crash in between makes a loss count twice rather
// than go unreported.
func (s *Spool) applyRepairs(repairs []repair) error {
	for _, r := range repairs {
		switch r.kind {
		case repairTruncate:
			s.log.Warn("spool: cut a segment at its last good frame", "file", r.path, "offset", r.cut,
				"bytes_cut", r.size-r.cut, "why", r.why)
		case repairRemove:
			s.log.Warn("spool: removed an unusable segment", "file", r.path, "bytes", r.size, "why", r.why)
		case repairReheader:
			s.log.Warn("spool: emptied a segment with a damaged header", "file", r.path, "bytes_cut", r.size, "why", r.why)
		}
		s.countLostLocked(r.lostLo, r.lostHi, r.path)
	}
	if err := s.flushCursors(); err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	removed := false
	for _, r := range repairs {
		var err error
		switch r.kind {
		case repairTruncate:
			err = truncateSynced(r.path, r.cut, nil)
		case repairRemove:
			err, removed = os.Remove(r.path), true
		case repairReheader:
			err = truncateSynced(r.path, 0, encodeSegHeader(mustParseSegName(r.path)))
		}
		if err != nil {
			return fmt.Errorf("open spool %s: repair: %w", s.dir, err)
		}
	}
	if removed {
		if err := syncDir(s.dir); err != nil {
			return fmt.Errorf("open spool %s: %w", s.dir, err)
		}
	}
	return nil
}

func mustParseSegName(path string) uint64 {
	first, _ := parseSegName(filepath.Base(path))
	return first
}

// truncateSynced cuts path to size, then writes tail at size.
func truncateSynced(path string, size int64, tail []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil && len(tail) > 0 {
		_, err = f.WriteAt(tail, size)
	}
	if err == nil {
		err = datasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// openActive opens the newest segment for appending, or starts a new one
// when there is none or when seqs must jump past what the newest holds
// (lost records, or cursors past it): a segment's seqs never have gaps,
// and the new header makes the jump durable.
func (s *Spool) openActive() error {
	if n := len(s.segs); n > 0 && s.segs[n-1].next() == s.nextSeq {
		sg := s.segs[n-1]
		f, err := os.OpenFile(sg.path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("open spool %s: %w", s.dir, err)
		}
		s.active = f
		return nil
	}
	sg := newSegment(s.dir, s.nextSeq)
	f, err := createSegmentFile(sg.path)
	if err == nil {
		_, err = f.WriteAt(encodeSegHeader(sg.first), 0)
		if err == nil {
			err = datasync(f)
		}
		if err == nil {
			err = syncDir(s.dir)
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("open spool %s: start segment: %w", s.dir, err)
	}
	s.active = f
	s.segs = append(s.segs, sg)
	return nil
}

func createSegmentFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// refreshLocked brings a read-only spool's index up to what the writer
// has put on disk since: new and grown segments, removed ones, cursors.
// Nothing is repaired; a frame that does not verify may be one being
// written, so indexing stops there and tries again next time.
func (s *Spool) refreshLocked() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool %s: %w", s.dir, err)
	}
	known := map[uint64]*segment{}
	for _, sg := range s.segs {
		known[sg.first] = sg
	}
	var firsts []uint64
	s.cursors = map[string]*cursor{}
	for _, e := range entries {
		name := e.Name()
		if first, ok := parseSegName(name); ok && e.Type().IsRegular() {
			firsts = append(firsts, first)
		} else if isCursorFile(name) {
			if err := s.loadCursor(name); err != nil {
				return err
			}
		}
	}
	slices.Sort(firsts)
	segs := s.segs[:0:0]
	s.bytes = 0
	for i, first := range firsts {
		next := uint64(math.MaxUint64)
		if i+1 < len(firsts) {
			next = firsts[i+1]
		}
		sg, err := s.refreshSegment(known[first], first, next)
		if err != nil {
			return err
		}
		if sg != nil {
			segs = append(segs, sg)
			s.bytes += sg.size
			s.nextSeq = max(s.nextSeq, sg.next())
		}
	}
	s.segs = segs
	s.expiryBound = s.minTimeAboveLocked(s.floor)
	return nil
}

func (s *Spool) refreshSegment(sg *segment, first, next uint64) (*segment, error) {
	path := filepath.Join(s.dir, segName(first))
	f, err := openRead(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // removed by the writer since we listed it
	}
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", s.dir, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", s.dir, err)
	}
	if sg == nil {
		hdr := make([]byte, segHeaderSize)
		n, err := f.ReadAt(hdr, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("spool %s: read %s: %w", s.dir, path, err)
		}
		if checkSegHeader(hdr[:n], first) != nil {
			return nil, nil
		}
		sg = newSegment(s.dir, first)
	}
	if fi.Size() > sg.size {
		if _, err := sg.scan(f, fi.Size(), next-1); err != nil {
			return nil, fmt.Errorf("spool %s: read %s: %w", s.dir, path, err)
		}
	}
	return sg, nil
}
