package plugins

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

const umlauts = "OK - Größe äöü ÄÖÜ ß"

func encode(t testing.TB, cm *charmap.Charmap, s string) []byte {
	t.Helper()
	b, err := cm.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	var b []byte
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func TestDecodeOutput(t *testing.T) {
	german := legacyTables(850, 1252) // a German Windows: OEM 850, ANSI 1252
	cases := []struct {
		name   string
		in     []byte
		legacy []*charmap.Charmap
		want   string
	}{
		{"utf-8 kept", []byte(umlauts), german, umlauts},
		{"utf-8 BOM dropped", append([]byte{0xEF, 0xBB, 0xBF}, umlauts...), nil, umlauts},
		{"utf-16le BOM", utf16Bytes(umlauts+"\r\n", false, true), nil, umlauts + "\r\n"},
		{"utf-16be BOM", utf16Bytes(umlauts, true, true), nil, umlauts},
		{"utf-16le, no BOM", utf16Bytes(umlauts+" | t=1s", false, false), nil, umlauts + " | t=1s"},
		{"utf-16be, no BOM", utf16Bytes(umlauts, true, false), nil, umlauts},
		{"utf-16le cut in a code unit", append(utf16Bytes("OK ä", false, true), 'x'), nil, "OK ä"},
		{"utf-16 unpaired surrogate", []byte{0xFF, 0xFE, 0x00, 0xD8, 'a', 0}, nil, "\uFFFDa"},
		{"OEM 850", encode(t, charmap.CodePage850, umlauts), german, umlauts},
		{"ANSI 1252", encode(t, charmap.Windows1252, umlauts), german, umlauts},
		{"OEM 850, ANSI first", encode(t, charmap.CodePage850, umlauts), legacyTables(1252, 850), umlauts},
		{"single umlaut, tie goes to the first", []byte("x \x84"), german, "x ä"},
		{"cp866 Cyrillic", encode(t, charmap.CodePage866, "OK - Привет"), legacyTables(866, 1251), "OK - Привет"},
		{"Unix: invalid bytes replaced", []byte("OK \xff\xfe-ish \xe4"), nil, "OK \uFFFD-ish \uFFFD"},
		{"empty", nil, german, ""},
		{"one NUL", []byte{'a', 0}, nil, "a\x00"},
	}
	for _, tc := range cases {
		if got := decodeOutput(tc.in, tc.legacy); got != tc.want {
			t.Errorf("%s: decodeOutput(% x) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestLegacyTables(t *testing.T) {
	got := legacyTables(850, 932, 1252, 850, 0)
	if len(got) != 2 || got[0] != charmap.CodePage850 || got[1] != charmap.Windows1252 {
		t.Fatalf("legacyTables(850, 932, 1252, 850, 0) = %v, want 850 then 1252, once each, no 932", got)
	}
}

// A plugin writing UTF-16 or a code page still gets its first line, long
// output and perfdata parsed, and the cap still cuts at a line.
func TestParseOutputDecodes(t *testing.T) {
	out := newCapture(1 << 10)
	out.Write(utf16Bytes("WARNUNG - Größe 5|größe=5;4;8\r\nzweite Zeile\r\n", false, true))
	text := parseOutput(out, newCapture(10), 1<<10, nil)
	if text.output != "WARNUNG - Größe 5" || text.long != "zweite Zeile" || len(text.perf) != 1 || text.perf[0].Label != "größe" {
		t.Fatalf("parseOutput(UTF-16) = %+v", text)
	}
	out = newCapture(12)
	out.Write(encode(t, charmap.CodePage850, "Größe 1\nGröße 2\n"))
	text = parseOutput(out, newCapture(10), 12, legacyTables(850, 1252))
	if text.output != "Größe 1" || !strings.Contains(text.long, "[output truncated at 12 of 16 bytes]") {
		t.Fatalf("parseOutput(OEM 850, capped) = %+v", text)
	}
}

func FuzzDecodeOutput(f *testing.F) {
	f.Add([]byte(umlauts))
	f.Add(utf16Bytes(umlauts, false, true))
	f.Add(utf16Bytes(umlauts, true, false))
	f.Add([]byte("\xef\xbb\xbf\xff"))
	f.Add([]byte("x \x84\x94\x81"))
	legacy := legacyTables(850, 1252)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range [][]*charmap.Charmap{nil, legacy} {
			got := decodeOutput(b, l)
			if !utf8.ValidString(got) {
				t.Fatalf("decodeOutput(% x) = %q: not valid UTF-8", b, got)
			}
			if _, isUTF16 := looksUTF16(b); utf8.Valid(b) && !isUTF16 && !strings.HasPrefix(string(b), "\xef\xbb\xbf") &&
				!strings.HasPrefix(string(b), "\xff\xfe") && !strings.HasPrefix(string(b), "\xfe\xff") && got != string(b) {
				t.Fatalf("decodeOutput(%q) = %q: valid UTF-8 must pass unchanged", b, got)
			}
		}
		// Any text written as UTF-16 with a BOM comes back.
		s := strings.ToValidUTF8(string(b), "\uFFFD")
		if got := decodeOutput(utf16Bytes(s, false, true), nil); got != s {
			t.Fatalf("UTF-16LE of %q decodes to %q", s, got)
		}
	})
}
