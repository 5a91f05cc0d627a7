package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// The byte layouts below are described for other implementers in
// FORMAT.md; keep the two in step.
const (
	// MaxRecord is the largest record Append accepts. It bounds the
	// memory a reader needs for one frame, so a corrupt length field can
	// never make a reader allocate more than this.
	MaxRecord = 1 << 20

	formatVersion   = 1
	segHeaderSize   = 32
	frameHeaderSize = 24

	// blockRecords is how many records share one in-memory index entry:
	// the index costs 16 bytes per 64 records, and a lookup reads at most
	// 63 frame headers past its entry.
	blockRecords = 64

	// windowSize bounds what one ReadAt pulls in while walking frames.
	windowSize = 64 << 10
)

var (
	segMagic    = [8]byte{'P', 'K', 'T', 'S', 'P', 'O', 'O', 'L'}
	cursorMagic = [8]byte{'P', 'K', 'T', 'C', 'U', 'R', 'S', 'R'}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

// frameCRC covers the length as well as seq, time and data, so a length
// damaged into another plausible value cannot pass as a shorter record.
func frameCRC(frame []byte) uint32 {
	c := crc32.Update(0, castagnoli, frame[0:4])
	return crc32.Update(c, castagnoli, frame[8:])
}

// appendFrame appends one encoded frame to dst.
func appendFrame(dst []byte, seq uint64, unixNano int64, data []byte) []byte {
	start := len(dst)
	var h [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[8:16], seq)
	binary.LittleEndian.PutUint64(h[16:24], uint64(unixNano))
	dst = append(dst, h[:]...)
	dst = append(dst, data...)
	binary.LittleEndian.PutUint32(dst[start+4:start+8], frameCRC(dst[start:]))
	return dst
}

func encodeSegHeader(first uint64) []byte {
	h := make([]byte, segHeaderSize)
	copy(h[0:8], segMagic[:])
	binary.LittleEndian.PutUint16(h[8:10], formatVersion)
	binary.LittleEndian.PutUint16(h[10:12], segHeaderSize)
	binary.LittleEndian.PutUint64(h[16:24], first)
	binary.LittleEndian.PutUint32(h[28:32], crc32.Checksum(h[0:28], castagnoli))
	return h
}

// errNewerFormat marks a segment written by a newer picket. It is the one
// kind of content Open refuses, because repairing it would destroy data a
// newer version can still read.
var errNewerFormat = errors.New("segment written by a newer format version")

// checkSegHeader reports why h is not a valid header for a segment whose
// file name says it starts at first.
func checkSegHeader(h []byte, first uint64) error {
	if len(h) < segHeaderSize {
		return fmt.Errorf("header cut short at %d of %d bytes", len(h), segHeaderSize)
	}
	if [8]byte(h[0:8]) != segMagic {
		return errors.New("bad magic")
	}
	if crc32.Checksum(h[0:28], castagnoli) != binary.LittleEndian.Uint32(h[28:32]) {
		return errors.New("header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint16(h[8:10]); v != formatVersion {
		return fmt.Errorf("%w: version %d", errNewerFormat, v)
	}
	if got := binary.LittleEndian.Uint64(h[16:24]); got != first {
		return fmt.Errorf("header says first seq %d, file name says %d", got, first)
	}
	return nil
}

// frameError says where and why a segment stops making sense.
type frameError struct {
	off    int64
	reason string
}

func (e *frameError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.reason) }

type frame struct {
	off  int64
	size int64 // header plus data
	seq  uint64
	time int64
	// data aliases the reader's window, or a buffer of its own for a
	// frame larger than the window; it is valid until the next call.
	data []byte
}

var windowPool = sync.Pool{New: func() any { b := make([]byte, windowSize); return &b }}

// frameReader walks the frames of one segment file through one bounded
// window, so neither a scan nor a Read ever holds a whole segment.
type frameReader struct {
	r    io.ReaderAt
	off  int64 // offset of the next frame
	end  int64 // no frame may extend past end
	pool *[]byte
	win  []byte // holds file bytes [woff, woff+len(win))
	woff int64
}

func newFrameReader(r io.ReaderAt, off, end int64) *frameReader {
	p := windowPool.Get().(*[]byte)
	return &frameReader{r: r, off: off, end: end, pool: p}
}

// release returns the window; the reader must not be used afterwards.
func (fr *frameReader) release() {
	windowPool.Put(fr.pool)
	fr.pool, fr.win = nil, nil
}

// bytesAt returns n bytes of the file at off (n <= windowSize), reading a
// fresh window if the current one does not hold them.
func (fr *frameReader) bytesAt(off int64, n int) ([]byte, error) {
	if off >= fr.woff && off+int64(n) <= fr.woff+int64(len(fr.win)) {
		return fr.win[off-fr.woff : off-fr.woff+int64(n)], nil
	}
	buf := (*fr.pool)[:min(int64(windowSize), fr.end-off)]
	m, err := fr.r.ReadAt(buf, off)
	fr.win, fr.woff = buf[:m], off
	if m < n {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return fr.win[:n], nil
}

// next decodes the frame at the reader's offset. With withData false it
// reads only the header and leaves the checksum unchecked: callers use
// that to skip frames already verified. It returns io.EOF at end, a
// *frameError for content that is not a frame, and any other error for
// I/O trouble.
func (fr *frameReader) next(withData bool) (frame, error) {
	off := fr.off
	if off >= fr.end {
		return frame{}, io.EOF
	}
	if fr.end-off < frameHeaderSize {
		return frame{}, &frameError{off, fmt.Sprintf("frame header cut short (%d of %d bytes)", fr.end-off, frameHeaderSize)}
	}
	h, err := fr.bytesAt(off, frameHeaderSize)
	if err != nil {
		return frame{}, fr.ioErr(off, err)
	}
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	f := frame{
		off:  off,
		size: frameHeaderSize + n,
		seq:  binary.LittleEndian.Uint64(h[8:16]),
		time: int64(binary.LittleEndian.Uint64(h[16:24])),
	}
	crc := binary.LittleEndian.Uint32(h[4:8])
	if n > MaxRecord {
		return frame{}, &frameError{off, fmt.Sprintf("frame length %d exceeds the maximum %d", n, MaxRecord)}
	}
	if off+f.size > fr.end {
		return frame{}, &frameError{off, fmt.Sprintf("frame data cut short (%d of %d bytes)", fr.end-off-frameHeaderSize, n)}
	}
	if withData {
		var whole []byte
		if f.size <= windowSize {
			whole, err = fr.bytesAt(off, int(f.size))
		} else {
			whole = make([]byte, f.size)
			var m int
			m, err = fr.r.ReadAt(whole, off)
			if m == len(whole) {
				err = nil
			} else if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
		}
		if err != nil {
			return frame{}, fr.ioErr(off, err)
		}
		if frameCRC(whole) != crc {
			return frame{}, &frameError{off, "frame checksum mismatch"}
		}
		f.data = whole[frameHeaderSize:]
	}
	fr.off += f.size
	return f, nil
}

// ioErr turns a short read into a frameError: the file is shorter than
// the caller believed, which for a segment is damage, not an I/O fault.
func (fr *frameReader) ioErr(off int64, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &frameError{off, "file ends inside the frame"}
	}
	return err
}
