package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

const segSuffix = ".seg"

func segName(first uint64) string { return fmt.Sprintf("%020d%s", first, segSuffix) }

// parseSegName returns the first seq a segment file name carries.
func parseSegName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	first, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || first == 0 {
		return 0, false
	}
	return first, true
}

// block indexes blockRecords consecutive records of a segment: where the
// first of them starts, and the earliest Time among them (for retention
// by age, which must find expired records without reading them all).
type block struct {
	off     int64
	minTime int64
}

// segment is the in-memory index of one segment file. Records in a
// segment have consecutive seqs, first .. first+count-1; the writer starts
// a new segment rather than leave a gap, which is what lets the index be
// this small.
type segment struct {
	first   uint64
	count   uint64
	size    int64 // header and complete frames; nothing past it is read
	path    string
	blocks  []block
	minTime int64
	maxTime int64
}

func newSegment(dir string, first uint64) *segment {
	return &segment{
		first:   first,
		size:    segHeaderSize,
		path:    filepath.Join(dir, segName(first)),
		minTime: math.MaxInt64,
		maxTime: math.MinInt64,
	}
}

// last is first-1 for an empty segment.
func (sg *segment) last() uint64 { return sg.first + sg.count - 1 }

func (sg *segment) next() uint64 { return sg.first + sg.count }

// add indexes one more record, written at off with the given time.
func (sg *segment) add(off, t int64) {
	if sg.count%blockRecords == 0 {
		sg.blocks = append(sg.blocks, block{off: off, minTime: t})
	} else if b := &sg.blocks[len(sg.blocks)-1]; t < b.minTime {
		b.minTime = t
	}
	sg.count++
	sg.minTime = min(sg.minTime, t)
	sg.maxTime = max(sg.maxTime, t)
}

// locate returns where to start walking for seq (first <= seq <= last),
// and how many frames to skip from there.
func (sg *segment) locate(seq uint64) (off int64, skip uint64) {
	i := seq - sg.first
	return sg.blocks[i/blockRecords].off, i % blockRecords
}

// recordsIn counts this segment's records with lo < seq <= hi.
func (sg *segment) recordsIn(lo, hi uint64) uint64 {
	a, b := max(lo+1, sg.first), min(hi, sg.last())
	if sg.count == 0 || a > b {
		return 0
	}
	return b - a + 1
}

// scanResult tells the caller of scan how the segment ended.
type scanResult struct {
	bad *frameError // nil when every byte up to the end was a good frame
}

// scan indexes the frames of r from sg.size up to end, checking every
// checksum and that seqs run on from sg.next() without passing limit. It
// stops at the first frame that fails; sg then covers exactly the good
// frames before it. Only I/O errors are returned as errors.
func (sg *segment) scan(r io.ReaderAt, end int64, limit uint64) (scanResult, error) {
	fr := newFrameReader(r, sg.size, end)
	defer fr.release()
	for {
		f, err := fr.next(true)
		if errors.Is(err, io.EOF) {
			return scanResult{}, nil
		}
		var fe *frameError
		if errors.As(err, &fe) {
			return scanResult{bad: fe}, nil
		}
		if err != nil {
			return scanResult{}, err
		}
		if f.seq != sg.next() {
			return scanResult{bad: &frameError{f.off, fmt.Sprintf("seq %d where %d was expected", f.seq, sg.next())}}, nil
		}
		if f.seq > limit {
			return scanResult{bad: &frameError{f.off, fmt.Sprintf("seq %d overlaps the next segment, which starts at %d", f.seq, limit+1)}}, nil
		}
		sg.add(f.off, f.time)
		sg.size = f.off + f.size
	}
}

// survivors looks past a bad frame at from for frames that still verify,
// and returns the highest seq among them (0 if none). A torn write leaves
// none; damage in the middle of acknowledged data leaves some, and their
// seqs must then be counted as lost and never be handed out again.
// Candidates are filtered on length and seq before their checksum is
// computed, so the search stays cheap on garbage.
func survivors(r io.ReaderAt, from, end int64, expected uint64) (uint64, error) {
	// Seqs in a segment are consecutive and every frame takes at least
	// frameHeaderSize bytes, which bounds any seq that can follow.
	limit := expected + uint64((end-from)/frameHeaderSize) + 1
	var best uint64
	buf := make([]byte, windowSize)
	for off := from + 1; off+frameHeaderSize <= end; {
		m, err := r.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		next := off + int64(max(m-frameHeaderSize+1, 1))
		for i := 0; i+frameHeaderSize <= m; i++ {
			h := buf[i : i+frameHeaderSize]
			n := int64(binary.LittleEndian.Uint32(h[0:4]))
			seq := binary.LittleEndian.Uint64(h[8:16])
			if n > MaxRecord || seq < expected || seq > limit || off+int64(i)+frameHeaderSize+n > end {
				continue
			}
			fr := newFrameReader(r, off+int64(i), end)
			f, err := fr.next(true)
			fr.release()
			if err == nil && f.seq == seq {
				best = max(best, seq)
				next = f.off + f.size
				break
			}
		}
		off = next
	}
	return best, nil
}
