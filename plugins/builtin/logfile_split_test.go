package builtin

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// splitAll feeds data in chunks of size n (all at once for n <= 0) and
// returns the lines as text, "!" marking a cut line, plus the consumed
// offset at the end.
func splitAll(c codec, max int, data []byte, n int) ([]string, int64, *splitter) {
	sp := newSplitter(c, max, 0, false)
	var out []string
	emit := func(l rawLine) {
		s := string(c.text(l, nil))
		if l.cut {
			s += "!"
		}
		out = append(out, s)
	}
	if n <= 0 {
		n = len(data) + 1
	}
	for len(data) > 0 {
		k := min(n, len(data))
		sp.feed(data[:k], emit)
		data = data[k:]
	}
	return out, sp.consumed(), sp
}

func utf16Bytes(s string, big bool) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if big {
			b = binary.BigEndian.AppendUint16(b, u)
		} else {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
	}
	return b
}

func TestSplitter(t *testing.T) {
	utf8c := codec{name: "utf-8"}
	le := codec{name: "utf-16le", wide: true}
	be := codec{name: "utf-16be", wide: true, big: true}
	tests := []struct {
		name     string
		c        codec
		max      int
		data     []byte
		lines    []string
		consumed int64
	}{
		{"plain", utf8c, 100, []byte("a\nbb\n"), []string{"a", "bb"}, 5},
		{"partial tail waits", utf8c, 100, []byte("a\nbb"), []string{"a"}, 2},
		{"crlf", utf8c, 100, []byte("a\r\nb\r\n"), []string{"a", "b"}, 6},
		{"empty lines", utf8c, 100, []byte("\n\n"), []string{"", ""}, 2},
		{"utf-8 bom at start only", utf8c, 100, []byte("\uFEFFa\n\uFEFFb\n"), []string{"a", "\uFEFFb"}, 10},
		{"cut long line, count once", utf8c, 4, []byte("abcdefgh\nxy\n"), []string{"abcd!", "xy"}, 12},
		{"exactly max is not cut", utf8c, 4, []byte("abcd\n"), []string{"abcd"}, 5},
		{"cut line consumed while skipping", utf8c, 4, []byte("abcdefgh"), []string{"abcd!"}, 8},
		{"nul and junk", utf8c, 100, []byte("a\x00\xff\xfeb\n"), []string{"a\x00\xff\xfeb"}, 6},
		{"utf-16le with bom", le, 100, append([]byte{0xFF, 0xFE}, utf16Bytes("Überlauf\r\nzwei\n", false)...), []string{"Überlauf", "zwei"}, 32},
		{"utf-16be", be, 100, utf16Bytes("eins\nzwei\n", true), []string{"eins", "zwei"}, 20},
		{"utf-16le surrogate pair", le, 100, utf16Bytes("a😀b\n", false), []string{"a😀b"}, 10},
		{"utf-16le 0x0a inside a unit is no newline", le, 100, []byte{0x0A, 0x0A, 0x0A, 0x00}, []string{"\u0a0a"}, 4},
		{"utf-16le odd tail waits", le, 100, []byte{'a', 0, '\n', 0, 'b'}, []string{"a"}, 4},
		{"utf-16le cut on a unit", le, 5, utf16Bytes("abcdef\nx\n", false), []string{"ab!", "x"}, 18},
	}
	for _, tt := range tests {
		for _, n := range []int{0, 1, 2, 3, 7} {
			lines, consumed, _ := splitAll(tt.c, tt.max, tt.data, n)
			if !slices.Equal(lines, tt.lines) || consumed != tt.consumed {
				t.Errorf("%s (chunks of %d): %q consumed %d, want %q consumed %d", tt.name, n, lines, consumed, tt.lines, tt.consumed)
			}
		}
	}
}

func TestSplitterFlush(t *testing.T) {
	lines, _, sp := splitAll(codec{}, 100, []byte("a\nno newline"), 3)
	sp.flush(func(l rawLine) { lines = append(lines, string(l.b)) })
	if !slices.Equal(lines, []string{"a", "no newline"}) || sp.consumed() != 12 || sp.pending() {
		t.Errorf("%q consumed %d pending %v", lines, sp.consumed(), sp.pending())
	}
	// Half a UTF-16 unit is not text yet: it stays unconsumed.
	lines, _, sp = splitAll(codec{wide: true}, 100, []byte{'a', 0, 'b'}, 0)
	sp.flush(func(l rawLine) { lines = append(lines, string(codec{wide: true}.text(l, nil))) })
	if !slices.Equal(lines, []string{"a"}) || sp.consumed() != 2 {
		t.Errorf("wide: %q consumed %d", lines, sp.consumed())
	}
}

func TestParseEncoding(t *testing.T) {
	tests := []struct {
		name, want string
		head       []byte
		wide, big  bool
		err        string
	}{
		{"", "utf-8", []byte("abc"), false, false, ""},
		{"auto", "utf-16le", []byte{0xFF, 0xFE, 'a', 0}, true, false, ""},
		{"auto", "utf-16be", []byte{0xFE, 0xFF, 0, 'a'}, true, true, ""},
		{"UTF-8", "utf-8", []byte{0xFF, 0xFE}, false, false, ""},
		{"UTF-16", "utf-16le", []byte("ab"), true, false, ""},
		{"utf-16", "utf-16be", []byte{0xFE, 0xFF}, true, true, ""},
		{"UTF-16LE", "utf-16le", nil, true, false, ""},
		{"utf16be", "utf-16be", nil, true, true, ""},
		{"latin1", "iso-8859-1", nil, false, false, ""},
		{"windows-1252", "windows-1252", nil, false, false, ""},
		{"Shift_JIS", "shift_jis", nil, false, false, ""},
		{"IBM037", "", nil, false, false, "newline is not the byte"}, // EBCDIC
		{"UTF-32", "", nil, false, false, "unknown encoding"},
		{"klingon", "", nil, false, false, "unknown encoding"},
	}
	for _, tt := range tests {
		e, err := parseEncoding(tt.name)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.name, err)
			continue
		}
		c := e.codecFor(tt.head)
		if c.name != tt.want || c.wide != tt.wide || c.big != tt.big {
			t.Errorf("%q with head % x: %+v, want %s", tt.name, tt.head, c, tt.want)
		}
	}
	e, _ := parseEncoding("windows-1252")
	if got := string(e.codecFor(nil).text(rawLine{b: []byte("Gr\xfc\xdfe \x80\r")}, nil)); got != "Grüße €" {
		t.Errorf("windows-1252: %q", got)
	}
}

// FuzzLogfileSplitter holds the splitter to what logfile relies on, for
// any bytes and any chunking: the lines do not depend on how the bytes
// arrive, none is longer than max, the consumed offset lies on a line
// boundary, and (for UTF-8) the lines are exactly the bytes between
// newlines, cut lines being their first max bytes.
func FuzzLogfileSplitter(f *testing.F) {
	f.Add([]byte("a\nbb\r\nccc"), 1, 4, false)
	f.Add([]byte("abcdefgh\n\x00\xff\n"), 3, 4, false)
	f.Add([]byte{0xFF, 0xFE, 'a', 0, '\n', 0, 'b'}, 1, 6, true)
	f.Add(bytes.Repeat([]byte("x"), 100), 7, 16, false)
	f.Fuzz(func(t *testing.T, data []byte, chunk, max int, wide bool) {
		if chunk < 1 || chunk > 64 || max < 2 || max > 64 {
			return
		}
		c := codec{wide: wide}
		whole, consumedWhole, _ := splitAll(c, max, data, 0)
		parts, consumed, sp := splitAll(c, max, data, chunk)
		if !slices.Equal(whole, parts) || consumed != consumedWhole {
			t.Fatalf("whole %q (%d) vs chunks of %d %q (%d)", whole, consumedWhole, chunk, parts, consumed)
		}
		if consumed < 0 || consumed > int64(len(data)) {
			t.Fatalf("consumed %d of %d", consumed, len(data))
		}
		if sp.line != nil && len(sp.line) > max {
			t.Fatalf("holds %d bytes, max %d", len(sp.line), max)
		}
		if wide {
			return
		}
		// The reference: split on '\n' what was consumed.
		var want []string
		for i, l := range bytes.SplitAfter(data[:consumed], []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			body := bytes.TrimSuffix(l, []byte("\n"))
			if len(body) > max {
				want = append(want, string(body[:max])+"!")
				continue
			}
			if i == 0 {
				body = bytes.TrimPrefix(body, []byte("\uFEFF"))
			}
			want = append(want, string(bytes.TrimSuffix(body, []byte("\r"))))
		}
		// A line cut at max is handed on as soon as it passes max, even
		// before its newline: the reference sees it only if consumed.
		if !slices.Equal(want, parts) {
			t.Fatalf("lines %q, want %q (data %q, max %d)", parts, want, data, max)
		}
	})
}
