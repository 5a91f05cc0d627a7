package nagios

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects log output from the run loop and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger() (*slog.Logger, *lockedBuffer) {
	var buf lockedBuffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), &buf
}

// waitFor polls cond for at most ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// splitLines returns the lines of b without their newlines.
func splitLines(b []byte) [][]byte {
	return bytes.Split(bytes.TrimSuffix(b, newline), newline)
}

func TestQueueHoldsLinesUntilAReaderAppears(t *testing.T) {
	path := mkfifo(t)
	logger, logs := testLogger()
	q := NewQueue(NewCommandFile(path), 1000, logger, RetryBackoff(time.Millisecond, 5*time.Millisecond))
	lines := resultLines("a", 0, 100)
	for _, l := range splitLines(lines) {
		if !q.Submit(l) { // without its newline: Submit adds it
			t.Fatal("Submit refused a line")
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error)
	go func() { runErr <- q.Run(ctx) }()
	waitFor(t, "failed attempts", func() bool { return q.Stats().Errors >= 3 })
	if s := q.Stats(); s.Pending != 100 || s.Written != 0 {
		t.Fatalf("stats during the outage: %+v", s)
	}

	r := openReader(t, path)
	if got := readN(t, r, len(lines)); !bytes.Equal(got, lines) {
		t.Fatalf("reader got %q", got)
	}
	waitFor(t, "written count", func() bool { return q.Stats().Written == 100 })

	more := resultLines("a", 100, 5)
	for _, l := range splitLines(more) {
		q.Submit(append(l, '\n'))
	}
	if got := readN(t, r, len(more)); !bytes.Equal(got, more) {
		t.Fatalf("reader got %q", got)
	}
	waitFor(t, "written count", func() bool { return q.Stats().Written == 105 })
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}

	out := logs.String()
	if n := strings.Count(out, "unavailable"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "writable again") || !strings.Contains(out, "waited=100") {
		t.Errorf("recovery not logged with the number of lines that waited:\n%s", out)
	}
	if strings.Contains(out, "PROCESS_SERVICE_CHECK_RESULT") {
		t.Errorf("log contains command contents:\n%s", out)
	}
	if s := q.Stats(); s.Pending != 0 || s.Dropped != 0 || s.Lost != 0 {
		t.Errorf("final stats: %+v", s)
	}
}

func TestQueueOverflowCountsDrops(t *testing.T) {
	q := NewQueue(NewCommandFile(filepath.Join(t.TempDir(), "cmd")), 3, nil)
	for i := range 5 {
		if got, want := q.Submit([]byte("[1] X\n")), i < 3; got != want {
			t.Errorf("Submit #%d = %v, want %v", i, got, want)
		}
	}
	if q.Submit(nil) {
		t.Error("Submit accepted an empty line")
	}
	if s := q.Stats(); s.Pending != 3 || s.Dropped != 3 {
		t.Errorf("stats: %+v", s)
	}
}

func TestQueueCancelWithoutReaderReportsLoss(t *testing.T) {
	path := mkfifo(t)
	logger, logs := testLogger()
	q := NewQueue(NewCommandFile(path), 10, logger,
		RetryBackoff(time.Millisecond, 2*time.Millisecond), ShutdownGrace(20*time.Millisecond))
	for range 3 {
		q.Submit([]byte("[1] RESTART_PROGRAM\n"))
	}
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error)
	go func() { runErr <- q.Run(ctx) }()
	waitFor(t, "a failed attempt", func() bool { return q.Stats().Errors >= 1 })
	cancel()
	err := <-runErr
	if !errors.Is(err, ErrLost) || !errors.Is(err, ErrNoReader) || !strings.Contains(err.Error(), "3 for "+path) {
		t.Fatalf("Run: %v", err)
	}
	if s := q.Stats(); s.Lost != 3 || s.Pending != 0 {
		t.Errorf("stats: %+v", s)
	}
	if q.Submit([]byte("[2] RESTART_PROGRAM\n")) {
		t.Error("Submit accepted a line after Run returned")
	}
	if !strings.Contains(logs.String(), "lost=3") {
		t.Errorf("loss not logged:\n%s", logs)
	}
	if err := q.Run(t.Context()); err == nil {
		t.Error("second Run did not fail")
	}
}

func TestQueueFlushesOnCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nagios.cmd")
	q := NewQueue(NewCommandFile(path, CreateRegular()), 1000, nil)
	lines := resultLines("a", 0, 50)
	for _, l := range splitLines(lines) {
		q.Submit(l)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := q.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := readFile(t, path); !bytes.Equal(got, lines) {
		t.Errorf("file holds %q", got)
	}
	if s := q.Stats(); s.Written != 50 || s.Pending != 0 {
		t.Errorf("stats: %+v", s)
	}
}

func TestQueueConcurrentSubmitters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nagios.cmd")
	q := NewQueue(NewCommandFile(path, CreateRegular()), 100000, nil)
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error)
	go func() { runErr <- q.Run(ctx) }()
	writers := map[string]int{"a": 2000, "b": 2000, "c": 2000}
	var wg sync.WaitGroup
	for w, n := range writers {
		wg.Go(func() {
			var buf []byte
			for i := range n {
				buf = append(buf[:0], resultLines(w, i, 1)...)
				if !q.Submit(buf) {
					t.Error("Submit refused a line")
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "all lines written", func() bool { return q.Stats().Written == 6000 })
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	checkStream(t, readFile(t, path), writers)
}
