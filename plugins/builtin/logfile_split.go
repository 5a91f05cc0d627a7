package builtin

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
)

// splitter cuts a file's raw bytes into lines without ever holding more
// than max bytes of one line, whatever the file holds: a line of megabytes
// is matched on its first max bytes and its rest is dropped as it streams
// past. It works on the file's own bytes, not decoded text, so the offsets
// it reports are file offsets that a later run can seek to. In wide mode
// (UTF-16) a newline is the 16-bit unit 0x000A at an even offset.
type splitter struct {
	wide, big bool
	max       int
	line      []byte // the unfinished line, at most max bytes
	odd       []byte // half of a UTF-16 unit left at the end of a chunk
	skipping  bool   // the current line was cut: drop bytes up to its newline
	pos       int64  // file offset just after the last byte fed
	start     int64  // file offset where the line in line began
}

// rawLine is one line as the splitter hands it on: its bytes without the
// newline, where it began in the file, and whether it was cut at max.
type rawLine struct {
	b     []byte
	start int64
	cut   bool
}

func newSplitter(c codec, max int, at int64, skipping bool) *splitter {
	if c.wide {
		max &^= 1 // cut between units, never inside one
	}
	return &splitter{wide: c.wide, big: c.big, max: max, pos: at, start: at, skipping: skipping}
}

// consumed is the offset up to which every byte belongs to a line already
// handed on (or to the dropped rest of a cut one): where the next run
// starts.
func (s *splitter) consumed() int64 {
	return s.pos - int64(len(s.line)+len(s.odd))
}

// pending reports an unfinished last line: bytes after the last newline
// that belong to no line handed on yet.
func (s *splitter) pending() bool { return len(s.line)+len(s.odd) > 0 }

// feed hands on every line that p (the bytes at file offset s.pos)
// finishes, and every line that grows past max.
func (s *splitter) feed(p []byte, emit func(rawLine)) {
	if s.wide && len(s.odd) == 1 && len(p) > 0 {
		unit := []byte{s.odd[0], p[0]}
		s.odd = s.odd[:0]
		s.pos-- // the odd byte was counted when it arrived
		s.chunk(unit, emit)
		p = p[1:]
	}
	if s.wide && len(p)%2 == 1 {
		s.chunk(p[:len(p)-1], emit)
		s.odd = append(s.odd[:0], p[len(p)-1])
		s.pos++
		return
	}
	s.chunk(p, emit)
}

// chunk splits p, which holds whole units.
func (s *splitter) chunk(p []byte, emit func(rawLine)) {
	nl := 1
	if s.wide {
		nl = 2
	}
	for len(p) > 0 {
		i := s.newline(p)
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if !s.skipping {
			if room := s.max - len(s.line); len(seg) > room {
				s.line = append(s.line, seg[:room]...)
				emit(rawLine{b: s.line, start: s.start, cut: true})
				s.line = s.line[:0]
				s.skipping = true
			} else {
				s.line = append(s.line, seg...)
			}
		}
		s.pos += int64(len(seg))
		if i < 0 {
			return
		}
		if s.skipping {
			s.skipping = false
		} else {
			emit(rawLine{b: s.line, start: s.start})
			s.line = s.line[:0]
		}
		s.pos += int64(nl)
		s.start = s.pos
		p = p[i+nl:]
	}
}

// newline finds the first newline in p: a '\n' byte, or in wide mode the
// unit 0x000A at an even index.
func (s *splitter) newline(p []byte) int {
	if !s.wide {
		return bytes.IndexByte(p, '\n')
	}
	for off := 0; ; {
		i := bytes.IndexByte(p[off:], '\n')
		if i < 0 {
			return -1
		}
		i += off
		switch {
		case !s.big && i%2 == 0 && i+1 < len(p) && p[i+1] == 0:
			return i
		case s.big && i%2 == 1 && p[i-1] == 0:
			return i - 1
		}
		off = i + 1
	}
}

// flush hands on the unfinished last line as a line of its own, for a
// writer that has left it without a newline long enough (--partialwait).
// Half a UTF-16 unit stays: it cannot be text yet.
func (s *splitter) flush(emit func(rawLine)) {
	if len(s.line) == 0 {
		return
	}
	emit(rawLine{b: s.line, start: s.start})
	s.line = s.line[:0]
	s.start = s.pos - int64(len(s.odd))
}

// codec says how a file's bytes are text: UTF-8 (or anything
// ASCII-compatible, taken as bytes), UTF-16 in either byte order, or a
// character set x/text decodes.
type codec struct {
	name      string
	wide, big bool
	dec       *encoding.Decoder // nil: the bytes are matched as they are
}

// encodingSpec is what --encoding asked for; a file's codec is decided
// from it and the file's first bytes (its byte order mark).
type encodingSpec struct {
	name  string
	bom   bool // decide by a BOM: auto and utf-16
	fixed codec
	enc   encoding.Encoding
}

// parseEncoding reads --encoding: auto (the default: a UTF-16 BOM means
// UTF-16, anything else is UTF-8), utf-8, utf-16 (BOM, else little
// endian, as Windows writes it), utf-16le, utf-16be, or any IANA name whose
// newline is the byte '\n' (latin1, windows-1252, shift_jis, ...).
func parseEncoding(name string) (encodingSpec, error) {
	norm := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(name))
	switch norm {
	case "", "auto":
		return encodingSpec{name: "auto", bom: true, fixed: codec{name: "utf-8"}}, nil
	case "utf8":
		return encodingSpec{name: "utf-8", fixed: codec{name: "utf-8"}}, nil
	case "utf16", "ucs2":
		return encodingSpec{name: "utf-16", bom: true, fixed: codec{name: "utf-16le", wide: true}}, nil
	case "utf16le":
		return encodingSpec{name: "utf-16le", fixed: codec{name: "utf-16le", wide: true}}, nil
	case "utf16be":
		return encodingSpec{name: "utf-16be", fixed: codec{name: "utf-16be", wide: true, big: true}}, nil
	}
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil {
		return encodingSpec{}, fmt.Errorf("unknown encoding %q", name)
	}
	// Lines are split on the byte '\n', so the character set must write
	// a newline as that byte and nothing else (UTF-32 does not).
	if nl, err := enc.NewEncoder().String("\n"); err != nil || nl != "\n" {
		return encodingSpec{}, fmt.Errorf("encoding %q: its newline is not the byte 0x0A", name)
	}
	canon, _ := ianaindex.MIME.Name(enc)
	if canon == "" {
		canon = name
	}
	return encodingSpec{name: strings.ToLower(canon), fixed: codec{name: strings.ToLower(canon)}, enc: enc}, nil
}

// codecFor decides a file's codec from its first bytes.
func (e encodingSpec) codecFor(head []byte) codec {
	if e.bom {
		switch {
		case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
			return codec{name: "utf-16le", wide: true}
		case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
			return codec{name: "utf-16be", wide: true, big: true}
		}
	}
	c := e.fixed
	if e.enc != nil {
		c.dec = e.enc.NewDecoder()
	}
	return c
}

// text turns a line's raw bytes into UTF-8 (possibly invalid, which the
// matching copes with) without its CR or byte order mark. The result may
// share buf.
func (c codec) text(l rawLine, buf []byte) []byte {
	b := l.b
	switch {
	case c.wide:
		buf = buf[:0]
		for i := 0; i+1 < len(b); i += 2 {
			u := uint16(b[i]) | uint16(b[i+1])<<8
			if c.big {
				u = uint16(b[i])<<8 | uint16(b[i+1])
			}
			if utf16.IsSurrogate(rune(u)) && i+3 < len(b) {
				v := uint16(b[i+2]) | uint16(b[i+3])<<8
				if c.big {
					v = uint16(b[i+2])<<8 | uint16(b[i+3])
				}
				if r := utf16.DecodeRune(rune(u), rune(v)); r != 0xFFFD {
					buf = utf8.AppendRune(buf, r)
					i += 2
					continue
				}
			}
			buf = utf8.AppendRune(buf, rune(u)) // a lone surrogate becomes U+FFFD
		}
		b = buf
	case c.dec != nil:
		if d, err := c.dec.Bytes(b); err == nil {
			b = d
		}
	}
	if l.start == 0 {
		b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	}
	if !l.cut {
		b = bytes.TrimSuffix(b, []byte("\r"))
	}
	return b
}
