package plugins

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// decodeOutput turns the bytes a plugin wrote into valid UTF-8, which is
// what Nagios and every NSCA server expect. The rules, in order:
//
//  1. a byte-order mark says what the rest is: UTF-8, UTF-16LE or UTF-16BE;
//  2. without one, text whose every other byte is mostly NUL is UTF-16
//     (what PowerShell and `cmd /U` write), little- or big-endian by where
//     the NULs are;
//  3. valid UTF-8 is kept as it is;
//  4. anything else is a legacy single-byte code page: each of legacy (on
//     Windows the console's output code page, the OEM and the ANSI code
//     page) is tried and the one that reads as the most letters wins, the
//     first on a tie; with no legacy code page (Unix, where plugins write
//     UTF-8), every invalid byte sequence becomes U+FFFD.
//
// A UTF-16 code unit cut in half by the output cap is dropped; an unpaired
// surrogate becomes U+FFFD.
func decodeOutput(b []byte, legacy []*charmap.Charmap) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return strings.ToValidUTF8(string(b[3:]), "\uFFFD")
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return decodeUTF16(b[2:], false)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return decodeUTF16(b[2:], true)
	}
	if le, ok := looksUTF16(b); ok {
		return decodeUTF16(b, !le)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	best, bestScore := "", 0
	for i, cm := range legacy {
		s, err := cm.NewDecoder().Bytes(b)
		if err != nil {
			continue
		}
		if score := letterScore(s); i == 0 || score > bestScore {
			best, bestScore = string(s), score
		}
	}
	if best != "" {
		return best
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// looksUTF16 reports whether b is UTF-16 without a BOM, and which order:
// plugin output is mostly ASCII, whose UTF-16 code units have a NUL high
// byte. At least half the units must have it, all on one side.
func looksUTF16(b []byte) (littleEndian, ok bool) {
	units := len(b) / 2
	if units < 2 {
		return false, false
	}
	var nulEven, nulOdd int
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 {
			nulEven++
		}
		if b[i+1] == 0 {
			nulOdd++
		}
	}
	switch {
	case nulOdd*2 >= units && nulEven == 0:
		return true, true
	case nulEven*2 >= units && nulOdd == 0:
		return false, true
	}
	return false, false
}

func decodeUTF16(b []byte, bigEndian bool) string {
	units := make([]uint16, len(b)/2)
	for i := range units {
		lo, hi := b[2*i], b[2*i+1]
		if bigEndian {
			lo, hi = hi, lo
		}
		units[i] = uint16(lo) | uint16(hi)<<8
	}
	return string(utf16.Decode(units))
}

// letterScore rates a decoding: non-ASCII letters count for it, control
// characters, box drawing and undefined bytes against it. Umlauts written
// in one code page read as letters in it and as symbols in the others.
func letterScore(s []byte) int {
	score := 0
	for _, r := range string(s) {
		switch {
		case r < utf8.RuneSelf:
		case unicode.IsLetter(r):
			score++
		default:
			score--
		}
	}
	return score
}

// codePages maps the Windows code page numbers plugins write in to their
// tables; multi-byte code pages (932, 936, 949, 950) are not single-byte
// tables and are left to the U+FFFD rule.
var codePages = map[uint32]*charmap.Charmap{
	437: charmap.CodePage437, 850: charmap.CodePage850, 852: charmap.CodePage852,
	855: charmap.CodePage855, 858: charmap.CodePage858, 860: charmap.CodePage860,
	862: charmap.CodePage862, 863: charmap.CodePage863, 865: charmap.CodePage865,
	866: charmap.CodePage866, 874: charmap.Windows874,
	1250: charmap.Windows1250, 1251: charmap.Windows1251, 1252: charmap.Windows1252,
	1253: charmap.Windows1253, 1254: charmap.Windows1254, 1255: charmap.Windows1255,
	1256: charmap.Windows1256, 1257: charmap.Windows1257, 1258: charmap.Windows1258,
	20866: charmap.KOI8R, 21866: charmap.KOI8U,
	28591: charmap.ISO8859_1, 28592: charmap.ISO8859_2, 28605: charmap.ISO8859_15,
}

// legacyTables returns the tables of the given code pages, in order, once
// each, skipping those without a single-byte table.
func legacyTables(cps ...uint32) []*charmap.Charmap {
	var out []*charmap.Charmap
	for _, cp := range cps {
		cm, ok := codePages[cp]
		if !ok {
			continue
		}
		dup := false
		for _, have := range out {
			dup = dup || have == cm
		}
		if !dup {
			out = append(out, cm)
		}
	}
	return out
}
