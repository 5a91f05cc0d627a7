package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendReadCommitAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	if first := appendN(t, s, 0, 100); first != 1 {
		t.Fatalf("first seq %d, want 1", first)
	}
	recs := readAll(t, s, 0)
	if !slices.Equal(seqs(recs), span(1, 100)) {
		t.Fatalf("read seqs %v", seqs(recs))
	}
	for i, r := range recs {
		if !bytes.Equal(r.Data, payload(i)) {
			t.Fatalf("seq %d holds %q, want %q", r.Seq, r.Data, payload(i))
		}
	}
	if err := s.Commit("nagios1", 60); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir, Options{})
	if got := s.Position("nagios1"); got != 60 {
		t.Errorf("Position after restart = %d, want 60", got)
	}
	if got := s.Position("never-committed"); got != 0 {
		t.Errorf("Position of unknown cursor = %d, want 0", got)
	}
	first, err := s.Append(context.Background(), payload(100), payload(101), payload(102))
	if err != nil {
		t.Fatal(err)
	}
	if first != 101 {
		t.Errorf("first seq after restart %d, want 101", first)
	}
	recs = readAll(t, s, s.Position("nagios1"))
	if !slices.Equal(seqs(recs), span(61, 103)) {
		t.Fatalf("read after restart: seqs %v", seqs(recs))
	}
	for _, r := range recs {
		if want := payload(int(r.Seq) - 1); !bytes.Equal(r.Data, want) {
			t.Fatalf("seq %d holds %q, want %q", r.Seq, r.Data, want)
		}
	}
	st := s.Stats()
	if st.Records != 103 || st.FirstSeq != 1 || st.LastSeq != 103 || st.Cursors["nagios1"].Pending != 43 {
		t.Errorf("stats %+v", st)
	}
}

func TestReadBatchesAndEdges(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	ctx := context.Background()
	if recs, err := s.Read(ctx, 0, 10); recs != nil || err != nil {
		t.Fatalf("Read of an empty spool = %v, %v; want nil, nil", recs, err)
	}
	appendN(t, s, 0, 200)
	cases := []struct {
		after uint64
		max   int
		want  []uint64
	}{
		{0, 1, []uint64{1}},
		{0, 5, span(1, 5)},
		{63, 3, span(64, 66)}, // across an index block edge
		{127, 2, span(128, 129)},
		{195, 10, span(196, 200)},
		{200, 10, nil},
		{500, 10, nil},
		{10, 0, nil},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("after=%d,max=%d", c.after, c.max), func(t *testing.T) {
			recs, err := s.Read(ctx, c.after, c.max)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqs(recs), c.want) {
				t.Errorf("seqs %v, want %v", seqs(recs), c.want)
			}
		})
	}
	// Returned data is the caller's own.
	a, _ := s.Read(ctx, 0, 1)
	a[0].Data[0] = 'X'
	b, _ := s.Read(ctx, 0, 1)
	if !bytes.Equal(b[0].Data, payload(0)) {
		t.Errorf("changing returned data changed the spool: %q", b[0].Data)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Read(cctx, 0, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context: %v", err)
	}
}

func TestAppendRecordSizes(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	ctx := context.Background()
	big := bytes.Repeat([]byte{7}, MaxRecord)
	first, err := s.Append(ctx, []byte{}, big, []byte("x"))
	if err != nil || first != 1 {
		t.Fatalf("Append(empty, MaxRecord, small) = %d, %v", first, err)
	}
	if _, err := s.Append(ctx, []byte("ok"), make([]byte, MaxRecord+1)); err == nil {
		t.Fatal("a record over MaxRecord was accepted")
	}
	if n, err := s.Append(ctx); n != 0 || err != nil {
		t.Errorf("Append() = %d, %v; want 0, nil", n, err)
	}
	recs := readAll(t, s, 0)
	if len(recs) != 3 || len(recs[0].Data) != 0 || !bytes.Equal(recs[1].Data, big) || string(recs[2].Data) != "x" {
		t.Fatalf("read back %d records (the refused call must write nothing)", len(recs))
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Append(cctx, []byte("late")); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context: %v", err)
	}
	if st := s.Stats(); st.LastSeq != 3 {
		t.Errorf("LastSeq %d after a refused and a cancelled append, want 3", st.LastSeq)
	}
}

func TestClosed(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	appendN(t, s, 0, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Append(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if _, err := s.Read(context.Background(), 0, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if err := s.Commit("a", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v", err)
	}
}

func TestCloseWritesWhatWasQueued(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	var wg sync.WaitGroup
	acked := make(chan uint64, 1000)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				seq, err := s.Append(context.Background(), payload(w*1000+i))
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Append: %v", err)
					}
					return
				}
				acked <- seq
				if i == 100 {
					return
				}
			}
		})
	}
	for range 20 {
		<-acked
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(acked)
	s = openT(t, dir, Options{})
	have := map[uint64]bool{}
	for _, r := range readAll(t, s, 0) {
		have[r.Seq] = true
	}
	for seq := range acked {
		if !have[seq] {
			t.Errorf("acknowledged seq %d missing after Close and reopen", seq)
		}
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("error %q does not name the dir and the holder's pid", msg)
	}
	s.Close()
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after the holder closed: %v", err)
	}
	s2.Close()
}

func TestReadOnlyBesideWriter(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, dir, Options{})
	appendN(t, w, 0, 50)
	if err := w.Commit("nagios1", 20); err != nil {
		t.Fatal(err)
	}

	r := openT(t, dir, Options{ReadOnly: true})
	if got := seqs(readAll(t, r, 0)); !slices.Equal(got, span(1, 50)) {
		t.Fatalf("read-only reader sees %v", got)
	}
	st := r.Stats()
	if st.LastSeq != 50 || st.Cursors["nagios1"].Position != 20 || st.Cursors["nagios1"].Pending != 30 {
		t.Errorf("read-only stats %+v", st)
	}
	// It follows the writer.
	appendN(t, w, 50, 10)
	if err := w.Commit("nagios2", 55); err != nil {
		t.Fatal(err)
	}
	if got := seqs(readAll(t, r, 45)); !slices.Equal(got, span(46, 60)) {
		t.Errorf("after more appends the reader sees %v", got)
	}
	if got := r.Cursors(); !slices.Equal(got, []string{"nagios1", "nagios2"}) {
		t.Errorf("read-only Cursors() = %v", got)
	}

	// And it changes nothing.
	before := dirState(t, dir)
	if _, err := r.Append(context.Background(), []byte("x")); err == nil {
		t.Error("read-only Append succeeded")
	}
	if err := r.Commit("nagios1", 30); err == nil {
		t.Error("read-only Commit succeeded")
	}
	if _, err := r.Purge("nagios1"); err == nil {
		t.Error("read-only Purge succeeded")
	}
	if err := r.RemoveCursor("nagios1"); err == nil {
		t.Error("read-only RemoveCursor succeeded")
	}
	r.Stats()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := dirState(t, dir); !maps.Equal(before, after) {
		t.Error("the directory changed under a read-only open")
	}
	if _, err := Open(filepath.Join(dir, "missing"), Options{ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read-only Open of a missing dir: %v", err)
	}
}

func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func TestCursorNames(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	appendN(t, s, 0, 1)
	cases := []struct {
		name string
		ok   bool
	}{
		{"nagios1", true},
		{"nagios1.example.com:5667", true},
		{"A-b_c.d:e", true},
		{".", true},
		{"..", true},
		{strings.Repeat("x", 128), true},
		{strings.Repeat("x", 129), false},
		{"", false},
		{"a/b", false},
		{`a\b`, false},
		{"a b", false},
		{"naïve", false},
		{"a\x00", false},
	}
	for _, c := range cases {
		err := s.Commit(c.name, 1)
		if (err == nil) != c.ok {
			t.Errorf("Commit(%q): %v, want ok=%v", c.name, err, c.ok)
		}
	}
	// Names that differ only in case are different cursors.
	if err := s.Commit("Nagios1", 0); err != nil {
		t.Fatal(err)
	}
	if s.Position("nagios1") != 1 || s.Position("Nagios1") != 0 {
		t.Errorf("case-different names share a position")
	}
	want := []string{strings.Repeat("x", 128), ".", "..", "A-b_c.d:e", "Nagios1", "nagios1", "nagios1.example.com:5667"}
	slices.Sort(want)
	if got := s.Cursors(); !slices.Equal(got, want) {
		t.Errorf("Cursors() = %v, want %v", got, want)
	}
	if err := s.Commit("nagios1", 2); err == nil {
		t.Error("Commit past the newest record succeeded")
	}
}

func TestPurgeAndRemoveCursor(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	appendN(t, s, 0, 30)
	if err := s.Commit("a", 10); err != nil {
		t.Fatal(err)
	}
	n, err := s.Purge("a")
	if err != nil || n != 20 {
		t.Fatalf("Purge = %d, %v; want 20", n, err)
	}
	if s.Position("a") != 30 {
		t.Errorf("Position after Purge %d, want 30", s.Position("a"))
	}
	if n, err := s.Purge("fresh"); err != nil || n != 30 {
		t.Errorf("Purge of a new cursor = %d, %v; want 30", n, err)
	}
	if err := s.RemoveCursor("a"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveCursor("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("removing a missing cursor: %v", err)
	}
	s.Close()
	s = openT(t, dir, Options{})
	if got := s.Cursors(); !slices.Equal(got, []string{"fresh"}) {
		t.Errorf("after restart Cursors() = %v", got)
	}
}

func TestConcurrentAppendRead(t *testing.T) {
	s := openT(t, t.TempDir(), Options{MaxBytes: 4 << 20}) // small segments: rolls happen under readers
	ctx := context.Background()
	const writers, each = 8, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				recs := [][]byte{payload(w*each + i)}
				if i%10 == 0 {
					recs = append(recs, payload(w*each+i), payload(w*each+i))
				}
				if _, err := s.Append(ctx, recs...); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			var after uint64
			for {
				select {
				case <-done:
					return
				default:
				}
				recs, err := s.Read(ctx, after, 50)
				if err != nil {
					t.Errorf("Read: %v", err)
					return
				}
				for _, r := range recs {
					if r.Seq != after+1 {
						t.Errorf("Read after %d returned seq %d", after, r.Seq)
						return
					}
					if !bytes.HasPrefix(r.Data, []byte("record ")) {
						t.Errorf("seq %d holds %q", r.Seq, r.Data)
						return
					}
					after = r.Seq
				}
				_ = s.Stats()
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	want := uint64(writers * (each + each/10*2))
	if got := len(readAll(t, s, 0)); uint64(got) != want {
		t.Errorf("read %d records, want %d", got, want)
	}
	if st := s.Stats(); st.LastSeq != want {
		t.Errorf("LastSeq %d, want %d", st.LastSeq, want)
	}
}

func TestStatsOldest(t *testing.T) {
	clk := newClock()
	s := openT(t, t.TempDir(), Options{Now: clk.Now})
	if st := s.Stats(); st.Records != 0 || st.FirstSeq != 0 || !st.Oldest.IsZero() {
		t.Errorf("empty spool stats %+v", st)
	}
	t0 := clk.Now()
	appendN(t, s, 0, 5)
	clk.Advance(time.Minute)
	appendN(t, s, 5, 5)
	if err := s.Commit("a", 5); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if !st.Oldest.Equal(t0) || !st.Cursors["a"].Oldest.Equal(t0.Add(time.Minute)) {
		t.Errorf("Oldest %v, cursor Oldest %v", st.Oldest, st.Cursors["a"].Oldest)
	}
	recs := readAll(t, s, 0)
	if !recs[0].Time.Equal(t0) || !recs[9].Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("record times %v, %v", recs[0].Time, recs[9].Time)
	}
}

// TestReadWhileCollecting reads without a cursor while a sender's commits
// make collection delete the segments being read: the reader may skip
// what was collected, but never errs or goes backwards.
func TestReadWhileCollecting(t *testing.T) {
	s := openT(t, t.TempDir(), Options{MaxBytes: smallSegs})
	ctx := context.Background()
	const total = 6000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < total; i += 20 {
			appendN(t, s, i, 20)
		}
	})
	wg.Go(func() { // the sender: read, commit, and so collect
		var pos uint64
		for pos < total {
			recs, err := s.Read(ctx, pos, 100)
			if err != nil {
				t.Errorf("sender Read: %v", err)
				return
			}
			if len(recs) > 0 {
				pos = recs[len(recs)-1].Seq
				if err := s.Commit("sender", pos); err != nil {
					t.Errorf("Commit: %v", err)
					return
				}
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			var after uint64
			for after < total {
				recs, err := s.Read(ctx, after, 7)
				if err != nil {
					t.Errorf("Read(%d): %v", after, err)
					return
				}
				for _, r := range recs {
					if r.Seq <= after || string(r.Data) != string(payload(int(r.Seq)-1)) {
						t.Errorf("Read after %d returned seq %d holding %q", after, r.Seq, r.Data)
						return
					}
					after = r.Seq
				}
			}
		})
	}
	wg.Wait()
	if n := len(segFiles(t, s.dir)); n != 1 {
		t.Errorf("%d segments left after the only cursor consumed everything", n)
	}
}
