package spooler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/leaktest"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/nsca"
)

// TestMain fails the package if any goroutine of the spooler outlives the
// tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if g := leaktest.Find("github.com/picket-monitoring/picket/spooler", 5*time.Second); g != "" {
			os.Stderr.WriteString("leaked goroutine:\n" + g + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// Bounds for polling: deadlines for what normally takes milliseconds,
// never assertions about speed.
const (
	pollEvery    = 5 * time.Millisecond
	pollDeadline = 20 * time.Second
)

// memLog is an in-memory Log: records in append order, cursors in a map.
// readErrs and commitErrs fail that many calls first; failRead fails the
// read calls it names (counting from 1).
type memLog struct {
	mu         sync.Mutex
	recs       []spool.Record
	cursors    map[string]uint64
	reads      int
	readErrs   int
	commitErrs int
	failRead   map[int]bool
}

var errDisk = errors.New("disk on fire")

func (l *memLog) appendData(data []byte) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := uint64(len(l.recs)) + 1
	l.recs = append(l.recs, spool.Record{Seq: seq, Time: time.Now(), Data: data})
	return seq
}

func (l *memLog) add(t testing.TB, r check.Result) uint64 {
	t.Helper()
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return l.appendData(b)
}

func (l *memLog) Read(ctx context.Context, after uint64, max int) ([]spool.Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	if l.readErrs > 0 || l.failRead[l.reads] {
		if l.readErrs > 0 {
			l.readErrs--
		}
		return nil, errDisk
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	i := sort.Search(len(l.recs), func(i int) bool { return l.recs[i].Seq > after })
	if i == len(l.recs) {
		return nil, nil
	}
	return append([]spool.Record(nil), l.recs[i:min(i+max, len(l.recs))]...), nil
}

func (l *memLog) Position(cursor string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cursors[cursor]
}

func (l *memLog) Commit(cursor string, seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.commitErrs > 0 {
		l.commitErrs--
		return errDisk
	}
	if l.cursors == nil {
		l.cursors = map[string]uint64{}
	}
	if seq < l.cursors[cursor] {
		return fmt.Errorf("cursor %s moved back from %d to %d", cursor, l.cursors[cursor], seq)
	}
	l.cursors[cursor] = seq
	return nil
}

func (l *memLog) readCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads
}

// receiver is an in-process nsca.Server collecting what it receives.
type receiver struct {
	srv  *nsca.Server
	addr string

	mu  sync.Mutex
	got []nsca.Packet
}

func startReceiver(t testing.TB, addr string, m nsca.Method) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{addr: ln.Addr().String()}
	r.srv = &nsca.Server{Method: m, Password: []byte("secret"), Logger: quiet(), Handler: nsca.HandlerFunc(
		func(_ context.Context, p nsca.Received) {
			r.mu.Lock()
			r.got = append(r.got, p.Packet)
			r.mu.Unlock()
		})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *receiver) packets() []nsca.Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]nsca.Packet(nil), r.got...)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// outputs returns the output of every packet received, in order.
func (r *receiver) outputs() []string {
	var out []string
	for _, p := range r.packets() {
		out = append(out, p.Output)
	}
	return out
}

// wait returns the packets once there are at least n.
func (r *receiver) wait(t testing.TB, n int) []nsca.Packet {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to receive %d packets", r.addr, n), func() bool { return r.count() >= n })
	return r.packets()
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pollEvery)
	}
}

// closedAddr is a loopback address nothing listens on: a real closed port.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func dialer(m nsca.Method) Dialer {
	return NSCA(&nsca.Dialer{Method: m, Password: []byte("secret"), Timeout: 2 * time.Second})
}

func tgt(group, addr string) Target {
	return Target{Address: addr, Group: group, Dialer: dialer(nsca.None)}
}

// numbered is the i-th result of a stream: output "result i", checked i
// seconds after t0.
func numbered(t0 time.Time, i int) check.Result {
	return check.Result{Host: "web01", Service: "svc", State: check.State(i % 4),
		Output: fmt.Sprintf("result %d", i), CheckTime: t0.Add(time.Duration(i) * time.Second)}
}

// addNumbered appends results from..to-1 and returns the last seq.
func addNumbered(t testing.TB, l *memLog, t0 time.Time, from, to int) uint64 {
	var seq uint64
	for i := from; i < to; i++ {
		seq = l.add(t, numbered(t0, i))
	}
	return seq
}

// wantNumbered fails unless outs are "result from" .. "result to-1".
func wantNumbered(t testing.TB, who string, outs []string, from, to int) {
	t.Helper()
	if len(outs) != to-from {
		t.Fatalf("%s received %d packets, want %d (results %d..%d)", who, len(outs), to-from, from, to-1)
	}
	for i, o := range outs {
		if want := fmt.Sprintf("result %d", from+i); o != want {
			t.Fatalf("%s packet %d is %q, want %q: lost, repeated or out of order", who, i, o, want)
		}
	}
}

// running runs s in the background; stop cancels it and returns Run's
// error, failing the test if Run does not return.
func running(t testing.TB, s *Spooler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(pollDeadline):
				t.Fatal("Run did not return after its context was cancelled")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// logBuffer collects log lines for tests that count transitions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), msg)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func mustNew(t testing.TB, o Options) *Spooler {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet()
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func groupStats(t testing.TB, s *Spooler, cursor string) GroupStats {
	t.Helper()
	for _, g := range s.Stats().Groups {
		if g.Cursor == cursor {
			return g
		}
	}
	t.Fatalf("no group %q in stats", cursor)
	return GroupStats{}
}

// dropFront removes the first n records, as the spool's retention does.
func (l *memLog) dropFront(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = l.recs[n:]
}
