package spool

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// The bytes FORMAT.md shows as examples. A change here is a format change:
// old spools must stay readable, so bump formatVersion instead.
func TestFormatGolden(t *testing.T) {
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"segment header, first seq 1", encodeSegHeader(1),
			"50 4b 54 53 50 4f 4f 4c 01 00 20 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 ac a1 be 8b"},
		{"frame seq 1, time 1795000000000000000, data \"hi\"", appendFrame(nil, 1, 1795000000000000000, []byte("hi")),
			"02 00 00 00 d6 29 95 bb 01 00 00 00 00 00 00 00 00 80 d3 5b fd 1e e9 18 68 69"},
	}
	for _, c := range cases {
		want, err := hex.DecodeString(strings.ReplaceAll(c.want, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.got, want) {
			t.Errorf("%s:\n got % x\nwant % x", c.name, c.got, want)
		}
	}
}

func TestCursorFileRoundTrip(t *testing.T) {
	c := &cursor{name: "nagios1:5667", pos: 42, acc: 40, drops: Drops{Age: 1, Bytes: 2, Corrupt: 3}}
	b := encodeCursor(c)
	if len(b) != cursorFixedSize+len(c.name)+4 {
		t.Fatalf("cursor file is %d bytes", len(b))
	}
	got, err := decodeCursor(b)
	if err != nil || got.name != c.name || got.pos != 42 || got.acc != 40 || got.drops != c.drops {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x10
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("a flipped bit at byte %d went unnoticed", i)
		}
	}
	if _, err := decodeCursor(b[:len(b)-1]); err == nil {
		t.Error("a short cursor file was accepted")
	}
}
