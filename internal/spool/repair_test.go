package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// frameOffsets returns where each frame of a segment file starts.
func frameOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for off := int64(segHeaderSize); off < int64(len(b)); {
		offs = append(offs, off)
		off += frameHeaderSize + int64(binary.LittleEndian.Uint32(b[off:]))
	}
	return offs
}

func firstOf(t *testing.T, path string) uint64 {
	t.Helper()
	first, ok := parseSegName(filepath.Base(path))
	if !ok {
		t.Fatalf("%s is not a segment name", path)
	}
	return first
}

func patchFile(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTornTailRepaired damages the end of the newest segment the ways a
// crash or a power loss can, and checks that Open cuts exactly the damage,
// says so, and that the spool then works as if nothing had happened.
func TestTornTailRepaired(t *testing.T) {
	const n = 200
	next := appendFrame(nil, n+1, 1, []byte("the record that never made it"))
	cases := []struct {
		name   string
		damage func(t *testing.T, dir, last string)
		kept   uint64 // records that survive
		logs   string
	}{
		{"half a frame header", func(t *testing.T, dir, last string) {
			patchFile(t, last, func(b []byte) []byte { return append(b, next[:10]...) })
		}, n, "cut a segment"},
		{"half the data", func(t *testing.T, dir, last string) {
			patchFile(t, last, func(b []byte) []byte { return append(b, next[:len(next)-7]...) })
		}, n, "cut a segment"},
		{"bad checksum in the last frame", func(t *testing.T, dir, last string) {
			patchFile(t, last, func(b []byte) []byte { b[len(b)-1] ^= 0x55; return b })
		}, n - 1, "checksum mismatch"},
		{"trailing zeros from preallocation", func(t *testing.T, dir, last string) {
			patchFile(t, last, func(b []byte) []byte { return append(b, make([]byte, 8192)...) })
		}, n, "cut a segment"},
		{"a frame of zeros then garbage", func(t *testing.T, dir, last string) {
			patchFile(t, last, func(b []byte) []byte {
				return append(append(b, make([]byte, frameHeaderSize)...), "\xde\xad\xbe\xef"...)
			})
		}, n, "cut a segment"},
		{"half a segment header", func(t *testing.T, dir, last string) {
			hdr := encodeSegHeader(n + 1)
			os.WriteFile(filepath.Join(dir, segName(n+1)), hdr[:10], 0o600)
		}, n, "emptied a segment"},
		{"empty new segment file", func(t *testing.T, dir, last string) {
			os.WriteFile(filepath.Join(dir, segName(n+1)), nil, 0o600)
		}, n, "emptied a segment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, Options{MaxBytes: smallSegs})
			appendN(t, s, 0, n)
			if err := s.Commit("a", 50); err != nil {
				t.Fatal(err)
			}
			s.Close()
			files := segFiles(t, dir)
			last := files[len(files)-1]
			c.damage(t, dir, last)
			damaged := segFiles(t, dir)
			damagedFile := damaged[len(damaged)-1]

			var logs logBuf
			s = openT(t, dir, Options{MaxBytes: smallSegs, Logger: logs.logger()})
			l := logs.String()
			if !strings.Contains(l, "level=WARN") || !strings.Contains(l, c.logs) || !strings.Contains(l, damagedFile) {
				t.Errorf("repair not logged with %q and the file:\n%s", c.logs, l)
			}
			if strings.Contains(l, "cut a segment") && (!strings.Contains(l, "offset=") || !strings.Contains(l, "bytes_cut=")) {
				t.Errorf("cut logged without offset and size:\n%s", l)
			}
			recs := readAll(t, s, 0)
			if got := seqs(recs); !slices.Equal(got, span(1, c.kept)) {
				t.Fatalf("after repair read %d records, want 1..%d", len(got), c.kept)
			}
			for i, r := range recs {
				if string(r.Data) != string(payload(i)) {
					t.Fatalf("seq %d damaged by the repair", r.Seq)
				}
			}
			if d := s.Stats().Cursors["a"].Dropped; d != (Drops{}) {
				t.Errorf("a torn tail counted as dropped: %+v", d)
			}
			first := appendN(t, s, int(c.kept), 5)
			if first <= c.kept {
				t.Errorf("append after repair got seq %d, reusing a kept one", first)
			}
			s.Close()

			logs = logBuf{}
			s = openT(t, dir, Options{MaxBytes: smallSegs, Logger: logs.logger()})
			if l := logs.String(); strings.Contains(l, "WARN") {
				t.Errorf("second Open after repair still found something:\n%s", l)
			}
			if got := len(readAll(t, s, 0)); uint64(got) != c.kept+5 {
				t.Errorf("after the second Open %d records, want %d", got, c.kept+5)
			}
		})
	}
}

// TestCorruptFrameInOlderSegment flips a byte in the middle of an old
// segment: the rest of that segment is lost and counted, nothing else is.
func TestCorruptFrameInOlderSegment(t *testing.T) {
	dir := t.TempDir()
	o := Options{MaxBytes: smallSegs}
	s := openT(t, dir, o)
	appendN(t, s, 0, 3000)
	if err := s.Commit("behind", 10); err != nil {
		t.Fatal(err)
	}
	s.Close()
	files := segFiles(t, dir)
	victim := files[1]
	first, nextFirst := firstOf(t, victim), firstOf(t, files[2])
	offs := frameOffsets(t, victim)
	k := len(offs) / 2
	bad := first + uint64(k)
	patchFile(t, victim, func(b []byte) []byte { b[offs[k]+frameHeaderSize+3] ^= 1; return b })

	var logs logBuf
	o.Logger = logs.logger()
	s = openT(t, dir, o)
	l := logs.String()
	if !strings.Contains(l, victim) || !strings.Contains(l, fmt.Sprintf("offset=%d", offs[k])) || !strings.Contains(l, "reason=corrupt") {
		t.Errorf("corruption not logged with file, offset and reason:\n%s", l)
	}
	var want []uint64
	for seq := uint64(1); seq <= 3000; seq++ {
		if seq < bad || seq >= nextFirst {
			want = append(want, seq)
		}
	}
	recs := readAll(t, s, 0)
	if got := seqs(recs); !slices.Equal(got, want) {
		t.Fatalf("read %d records, want %d (all but %d..%d)", len(got), len(want), bad, nextFirst-1)
	}
	for _, r := range recs {
		if string(r.Data) != string(payload(int(r.Seq)-1)) {
			t.Fatalf("seq %d damaged", r.Seq)
		}
	}
	lost := nextFirst - bad
	if got := s.Stats().Cursors["behind"].Dropped; got != (Drops{Corrupt: lost}) {
		t.Errorf("cursor dropped %+v, want Corrupt %d", got, lost)
	}
	if first := appendN(t, s, 3000, 1); first != 3001 {
		t.Errorf("append after repair: seq %d", first)
	}
	s.Close()

	s = openT(t, dir, Options{MaxBytes: smallSegs})
	if got := s.Stats().Cursors["behind"].Dropped; got != (Drops{Corrupt: lost}) {
		t.Errorf("after another Open the cursor dropped %+v, want Corrupt %d (counted twice?)", got, lost)
	}
}

// Damage in the middle of the newest segment is not a torn write: the
// frames after it verify, were acknowledged, and must be counted as lost,
// and their seqs must not be handed out again.
func TestCorruptFrameWithGoodFramesAfterIt(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	appendN(t, s, 0, 100)
	s.Close()
	files := segFiles(t, dir)
	offs := frameOffsets(t, files[0])
	patchFile(t, files[0], func(b []byte) []byte { b[offs[40]+9] ^= 0x80; return b }) // seq 41's seq field

	s = openT(t, dir, Options{})
	if got := seqs(readAll(t, s, 0)); !slices.Equal(got, span(1, 40)) {
		t.Errorf("read %v, want 1..40", got)
	}
	if d := s.Stats().Dropped; d.Corrupt != 60 {
		t.Errorf("dropped %+v, want 60 corrupt (seqs 41..100)", d)
	}
	if first := appendN(t, s, 100, 1); first != 101 {
		t.Errorf("next seq %d, want 101: 41..100 were acknowledged once", first)
	}
}

func TestDamagedHeaderOfOlderSegment(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{MaxBytes: smallSegs})
	appendN(t, s, 0, 2000)
	if err := s.Commit("a", 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	files := segFiles(t, dir)
	first, nextFirst := firstOf(t, files[0]), firstOf(t, files[1])
	patchFile(t, files[0], func(b []byte) []byte { b[0] = 'X'; return b })

	s = openT(t, dir, Options{MaxBytes: smallSegs})
	recs := readAll(t, s, 0)
	if recs[0].Seq != nextFirst || len(recs) != int(2000-nextFirst+1) {
		t.Errorf("read from %d, %d records", recs[0].Seq, len(recs))
	}
	if got := s.Stats().Cursors["a"].Dropped.Corrupt; got != nextFirst-first {
		t.Errorf("dropped %d corrupt, want %d", got, nextFirst-first)
	}
	if _, err := os.Stat(files[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unusable segment is still there: %v", err)
	}
}

func TestNewerFormatRefused(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	appendN(t, s, 0, 3)
	s.Close()
	path := segFiles(t, dir)[0]
	patchFile(t, path, func(b []byte) []byte {
		copy(b, encodeSegHeader(1))
		binary.LittleEndian.PutUint16(b[8:10], formatVersion+1)
		binary.LittleEndian.PutUint32(b[28:32], crc32.Checksum(b[0:28], castagnoli))
		return b
	})
	before, _ := os.ReadFile(path)
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a newer-format spool: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("Open changed a segment it could not read")
	}
}

func TestDamagedCursorFileIgnored(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	appendN(t, s, 0, 10)
	for _, c := range []string{"good", "bad"} {
		if err := s.Commit(c, 5); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	patchFile(t, filepath.Join(dir, cursorFile("bad")), func(b []byte) []byte { b[20] ^= 1; return b })
	os.WriteFile(filepath.Join(dir, cursorFile("good")+tmpSuffix), []byte("half a save"), 0o600)

	var logs logBuf
	s = openT(t, dir, Options{Logger: logs.logger()})
	if got := s.Cursors(); !slices.Equal(got, []string{"good"}) {
		t.Errorf("Cursors() = %v", got)
	}
	if !strings.Contains(logs.String(), cursorFile("bad")) {
		t.Errorf("damaged cursor file not logged:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, cursorFile("good")+tmpSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Error("leftover temporary cursor file not removed")
	}
	if err := s.Commit("bad", 7); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, dir, Options{})
	if s.Position("bad") != 7 || s.Position("good") != 5 {
		t.Errorf("positions bad=%d good=%d", s.Position("bad"), s.Position("good"))
	}
}

// Damage that appears while the spool is open (Open verified the file)
// makes Read skip the rest of that segment and say so, never return it.
func TestDamageAfterOpen(t *testing.T) {
	dir := t.TempDir()
	var logs logBuf
	s := openT(t, dir, Options{MaxBytes: smallSegs, Logger: logs.logger()})
	appendN(t, s, 0, 2000)
	files := segFiles(t, dir)
	first, nextFirst := firstOf(t, files[0]), firstOf(t, files[1])
	offs := frameOffsets(t, files[0])
	patchFile(t, files[0], func(b []byte) []byte { b[offs[100]+frameHeaderSize] ^= 1; return b })

	got := seqs(readAll(t, s, 0))
	want := append(span(first, first+99), span(nextFirst, 2000)...)
	if !slices.Equal(got, want) {
		t.Errorf("read %d records, want %d: 1..100 and %d..2000", len(got), len(want), nextFirst)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, files[0]) {
		t.Errorf("damage not logged:\n%s", l)
	}
}
