package spool

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadSegment feeds arbitrary bytes to the segment reader, alone and
// as the only segment file of a spool. Nothing may panic, nothing that
// does not verify may come back as a record, and Open must repair the
// file into a spool that works.
func FuzzReadSegment(f *testing.F) {
	good := encodeSegHeader(1)
	for i := range 5 {
		good = appendFrame(good, uint64(i+1), int64(1e18)+int64(i), payload(i))
	}
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(good[:segHeaderSize+10])
	f.Add(good[:segHeaderSize])
	f.Add(good[:17])
	f.Add(append(append([]byte(nil), good...), make([]byte, 4096)...))
	f.Add([]byte{})
	f.Add(make([]byte, 100))
	broken := append([]byte(nil), good...)
	broken[segHeaderSize+frameHeaderSize+2] ^= 1 // first record's data
	f.Add(broken)
	big := appendFrame(encodeSegHeader(1), 1, 5, bytes.Repeat([]byte("x"), windowSize+100))
	f.Add(big)
	f.Add(appendFrame(encodeSegHeader(1), 7, 5, nil)) // wrong first seq

	f.Fuzz(func(t *testing.T, file []byte) {
		r := bytes.NewReader(file)
		sg := newSegment("", 1)
		if checkSegHeader(file[:min(len(file), segHeaderSize)], 1) == nil {
			res, err := sg.scan(r, int64(len(file)), math.MaxUint64)
			if err != nil {
				t.Fatalf("scan of an in-memory file: %v", err)
			}
			if sg.size > int64(len(file)) || (res.bad == nil && sg.size != int64(len(file))) {
				t.Fatalf("scan indexed %d of %d bytes (bad: %v)", sg.size, len(file), res.bad)
			}
			if res.bad != nil {
				if _, err := survivors(r, res.bad.off, int64(len(file)), sg.next()); err != nil {
					t.Fatal(err)
				}
			}
		}

		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(1)), file, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{})
		if errors.Is(err, errNewerFormat) {
			return
		}
		if err != nil {
			t.Fatalf("Open refused a damaged segment: %v", err)
		}
		defer s.Close()
		recs := readAll(t, s, 0)
		for i, rec := range recs {
			if rec.Seq != uint64(i+1) {
				t.Fatalf("record %d has seq %d", i, rec.Seq)
			}
			// Every record returned is a verified frame of the input.
			if !bytes.Contains(file, appendFrame(nil, rec.Seq, rec.Time.UnixNano(), rec.Data)) {
				t.Fatalf("seq %d is not a frame of the input", rec.Seq)
			}
		}
		first, err := s.Append(context.Background(), []byte("after"))
		if err != nil {
			t.Fatalf("Append after repair: %v", err)
		}
		if first <= uint64(len(recs)) {
			t.Fatalf("Append after repair reused seq %d", first)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("second Open: %v", err)
		}
		defer s2.Close()
		again := readAll(t, s2, 0)
		if len(again) != len(recs)+1 || string(again[len(again)-1].Data) != "after" {
			t.Fatalf("after reopening: %d records, want %d", len(again), len(recs)+1)
		}
	})
}
