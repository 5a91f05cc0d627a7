package spool

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// smallSegs gives 64 KiB segments, so a few hundred records roll one.
const smallSegs = 1 << 20

// maintain runs what the minute timer runs.
func maintain(s *Spool) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	s.retain(0)
}

// commitAll commits name, position pairs in order. Give the slowest
// first: a cursor that is alone and at the end lets collection delete
// segments the cursors created after it would still need.
func commitAll(t *testing.T, s *Spool, pairs ...any) {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if err := s.Commit(pairs[i].(string), uint64(pairs[i+1].(int))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSegmentsRollAtSegmentSize(t *testing.T) {
	cases := []struct {
		maxBytes int64
		want     int64
	}{
		{0, 8 << 20},
		{DefaultMaxBytes, 8 << 20},
		{64 << 20, 4 << 20},
		{smallSegs, 64 << 10},
		{1000, 64 << 10},
	}
	for _, c := range cases {
		mb := c.maxBytes
		if mb == 0 {
			mb = DefaultMaxBytes
		}
		if got := segmentSize(mb); got != c.want {
			t.Errorf("segmentSize(%d) = %d, want %d", c.maxBytes, got, c.want)
		}
	}

	dir := t.TempDir()
	s := openT(t, dir, Options{MaxBytes: smallSegs})
	appendN(t, s, 0, 3000)
	files := segFiles(t, dir)
	if len(files) < 4 {
		t.Fatalf("%d segment files after 3000 records, want several", len(files))
	}
	for _, f := range files[:len(files)-1] {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 64<<10 || fi.Size() < 56<<10 {
			t.Errorf("%s is %d bytes; segments roll at 64 KiB", filepath.Base(f), fi.Size())
		}
	}
	if got := seqs(readAll(t, s, 0)); !slices.Equal(got, span(1, 3000)) {
		t.Errorf("read across segments: %d records", len(got))
	}
}

func TestCollectConsumedSegments(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{MaxBytes: smallSegs})
	appendN(t, s, 0, 3000)
	n := len(segFiles(t, dir))

	maintain(s)
	if got := len(segFiles(t, dir)); got != n {
		t.Fatalf("with no cursors %d of %d segments were collected", n-got, n)
	}

	if err := s.Commit("slow", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit("fast", 3000); err != nil {
		t.Fatal(err)
	}
	if got := len(segFiles(t, dir)); got != n {
		t.Fatalf("a cursor at 0 still needs every segment, but %d were collected", n-got)
	}
	if err := s.Commit("slow", 1500); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	firstKept := s.segs[0].first
	s.mu.Unlock()
	files := segFiles(t, dir)
	if len(files) >= n || firstKept > 1501 {
		t.Fatalf("after the slowest cursor passed 1500: %d files, oldest starts at %d", len(files), firstKept)
	}
	if got := readAll(t, s, 1500); len(got) != 1500 || got[0].Seq != 1501 {
		t.Fatalf("records after the slowest cursor were lost: %d left", len(got))
	}
	if err := s.RemoveCursor("slow"); err != nil {
		t.Fatal(err)
	}
	files = segFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("every cursor is at the end, %d segments left, want only the active one", len(files))
	}
	if st := s.Stats(); st.Records == 0 || st.LastSeq != 3000 || st.Cursors["fast"].Pending != 0 {
		t.Errorf("stats %+v", st)
	}

	s.Close()
	s = openT(t, dir, Options{MaxBytes: smallSegs})
	if first := appendN(t, s, 3000, 1); first != 3001 {
		t.Errorf("first seq after collection and restart: %d, want 3001", first)
	}
}

func TestSeqSurvivesLosingEverySegment(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	appendN(t, s, 0, 10)
	if err := s.Commit("a", 10); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, f := range segFiles(t, dir) {
		os.Remove(f)
	}
	s = openT(t, dir, Options{})
	if first := appendN(t, s, 10, 1); first != 11 {
		t.Errorf("first seq %d, want 11: a cursor had consumed up to 10", first)
	}
}

func TestMaxBytesDropsOldestSegments(t *testing.T) {
	dir := t.TempDir()
	var logs logBuf
	o := Options{MaxBytes: smallSegs, Logger: logs.logger()}
	s := openT(t, dir, o)
	appendN(t, s, 0, 600)
	commitAll(t, s, "slow", 0, "mid", 500, "fast", 600)
	for i := 600; i < 20000; i += 100 {
		appendN(t, s, i, 100)
		if err := s.Commit("fast", uint64(i+100)); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Bytes > o.MaxBytes {
		t.Errorf("segments take %d bytes, over MaxBytes %d", st.Bytes, o.MaxBytes)
	}
	lost := st.FirstSeq - 1
	if lost == 0 || st.Records != 20000-lost {
		t.Fatalf("FirstSeq %d, Records %d", st.FirstSeq, st.Records)
	}
	want := map[string]Drops{"slow": {Bytes: lost}, "mid": {Bytes: lost - 500}, "fast": {}}
	for name, d := range want {
		if got := st.Cursors[name].Dropped; got != d {
			t.Errorf("cursor %s dropped %+v, want %+v", name, got, d)
		}
	}
	if st.Dropped.Bytes != lost {
		t.Errorf("spool dropped %d, want %d", st.Dropped.Bytes, lost)
	}
	if recs, _ := s.Read(context.Background(), 0, 1); recs[0].Seq != st.FirstSeq {
		t.Errorf("Read(0) starts at %d, want %d", recs[0].Seq, st.FirstSeq)
	}
	if l := logs.String(); !strings.Contains(l, "reason=bytes") || !strings.Contains(l, "slow=") {
		t.Errorf("drops not logged with reason and cursors:\n%s", l)
	}
	s.Close()

	s = openT(t, dir, o)
	st2 := s.Stats()
	for name, d := range want {
		if got := st2.Cursors[name].Dropped; got != d {
			t.Errorf("after restart cursor %s dropped %+v, want %+v", name, got, d)
		}
	}
}

func TestMaxAgeDrops(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	var logs logBuf
	o := Options{MaxAge: time.Hour, MaxBytes: smallSegs, Now: clk.Now, Logger: logs.logger()}
	s := openT(t, dir, o)
	appendN(t, s, 0, 1000) // several segments, all at t0
	clk.Advance(30 * time.Minute)
	appendN(t, s, 1000, 1000)
	commitAll(t, s, "c0", 0, "c300", 300, "done", 2000)
	files := len(segFiles(t, dir))

	clk.Advance(30 * time.Minute) // t0 + 1h: not yet older than MaxAge
	if recs, _ := s.Read(context.Background(), 0, 1); len(recs) == 0 || recs[0].Seq != 1 {
		t.Fatal("records exactly MaxAge old were dropped")
	}
	clk.Advance(time.Nanosecond)
	if recs, _ := s.Read(context.Background(), 0, 1); len(recs) == 0 || recs[0].Seq != 1001 {
		t.Fatalf("Read returned an expired record: %v", seqs(recs))
	}
	st := s.Stats()
	want := map[string]Drops{"c0": {Age: 1000}, "c300": {Age: 700}, "done": {}}
	for name, d := range want {
		if got := st.Cursors[name].Dropped; got != d {
			t.Errorf("cursor %s dropped %+v, want %+v", name, got, d)
		}
	}
	if st.Records != 1000 || st.FirstSeq != 1001 {
		t.Errorf("Records %d FirstSeq %d", st.Records, st.FirstSeq)
	}
	if !strings.Contains(logs.String(), "reason=age") {
		t.Errorf("age drops not logged:\n%s", logs.String())
	}
	maintain(s)
	if got := len(segFiles(t, dir)); got >= files {
		t.Errorf("expired segments not deleted: %d files, %d before", got, files)
	}
	s.Close()

	s = openT(t, dir, o)
	st = s.Stats()
	for name, d := range want {
		if got := st.Cursors[name].Dropped; got != d {
			t.Errorf("after restart cursor %s dropped %+v, want %+v (counted twice?)", name, got, d)
		}
	}
	clk.Advance(time.Hour)
	if recs, _ := s.Read(context.Background(), 0, 10); recs != nil {
		t.Errorf("everything expired, Read returned %v", seqs(recs))
	}
	if got := s.Stats().Cursors["c0"].Dropped.Age; got != 2000 {
		t.Errorf("c0 dropped %d by age, want 2000", got)
	}
	// The active segment outlives its records, and carries the seq on.
	maintain(s)
	if got := len(segFiles(t, dir)); got != 1 {
		t.Errorf("%d segment files left, want the active one", got)
	}
	if first := appendN(t, s, 2000, 1); first != 2001 {
		t.Errorf("first seq after everything expired: %d", first)
	}
}

// Expiry cuts a prefix: a record stamped before a clock went back keeps
// the records appended before it company.
func TestMaxAgeAfterClockWentBack(t *testing.T) {
	clk := newClock()
	s := openT(t, t.TempDir(), Options{MaxAge: time.Hour, Now: clk.Now})
	appendN(t, s, 0, 5)
	clk.Advance(-time.Hour)
	appendN(t, s, 5, 5) // stamped an hour before the first five
	clk.Advance(time.Hour + time.Minute)
	appendN(t, s, 10, 5)
	// Now the second five are 61 minutes old, the first five 1 minute.
	recs := readAll(t, s, 0)
	if got := seqs(recs); !slices.Equal(got, span(11, 15)) {
		t.Errorf("read %v, want 11..15", got)
	}
}

func TestRetentionTimerRuns(t *testing.T) {
	// The timer itself is exercised by running the loop once via its kick
	// channel, as the committer does when something is due.
	clk := newClock()
	dir := t.TempDir()
	s := openT(t, dir, Options{MaxAge: time.Hour, MaxBytes: smallSegs, Now: clk.Now})
	appendN(t, s, 0, 2000)
	n := len(segFiles(t, dir))
	clk.Advance(2 * time.Hour)
	appendN(t, s, 2000, 1) // sees expiry due, kicks the maintenance goroutine
	deadline := time.Now().Add(10 * time.Second)
	for len(segFiles(t, dir)) >= n {
		if time.Now().After(deadline) {
			t.Fatal("expired segments never deleted after the committer kicked retention")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
