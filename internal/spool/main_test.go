package spool

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/leaktest"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		// Not os.Exit: under -race it waits for race reports first; the
		// parent kills this process anyway.
		syscall.Exit(crashChild(dir))
	}
	code := m.Run()
	if code == 0 {
		if g := leaktest.Find("github.com/picket-monitoring/picket/internal/spool", 5*time.Second); g != "" {
			fmt.Fprintf(os.Stderr, "goroutine leaked by spool:\n%s\n", g)
			code = 1
		}
	}
	os.Exit(code)
}

// logBuf collects what a Spool logs, for tests that check a repair or a
// drop was reported.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// clock is a settable clock for retention tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openT(t testing.TB, dir string, o Options) *Spool {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// payload is record i's content in most tests: its length varies, and any
// byte out of place shows.
func payload(i int) []byte {
	b := fmt.Appendf(nil, "record %d|", i)
	for j := 0; j < i%97; j++ {
		b = append(b, byte('a'+(i+j)%26))
	}
	return b
}

// appendN appends payload(from) .. payload(from+n-1), a few per call, and
// returns the first seq.
func appendN(t testing.TB, s *Spool, from, n int) uint64 {
	t.Helper()
	var first uint64
	for i := from; i < from+n; {
		var recs [][]byte
		for ; i < from+n && len(recs) < 25; i++ {
			recs = append(recs, payload(i))
		}
		seq, err := s.Append(context.Background(), recs...)
		if err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
		if first == 0 {
			first = seq
		}
	}
	return first
}

// readAll reads everything after after, in small batches so batch edges
// are crossed, and checks the order.
func readAll(t testing.TB, s *Spool, after uint64) []Record {
	t.Helper()
	var all []Record
	for {
		recs, err := s.Read(context.Background(), after, 37)
		if err != nil {
			t.Fatalf("Read(%d): %v", after, err)
		}
		if recs == nil {
			return all
		}
		for _, r := range recs {
			if r.Seq <= after {
				t.Fatalf("Read(%d) returned seq %d out of order", after, r.Seq)
			}
			after = r.Seq
		}
		all = append(all, recs...)
	}
}

func seqs(recs []Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func span(lo, hi uint64) []uint64 {
	var out []uint64
	for s := lo; s <= hi; s++ {
		out = append(out, s)
	}
	return out
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}
