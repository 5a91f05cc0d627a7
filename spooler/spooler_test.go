package spooler

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/nsca"
)

func TestNewRejectsBadOptions(t *testing.T) {
	log := &memLog{}
	ok := tgt("main", "127.0.0.1:5667")
	tests := []struct {
		name string
		o    Options
		want []string // every one must be in the error
	}{
		{"no log", Options{Targets: []Target{ok}}, []string{"no Log"}},
		{"empty group and address", Options{Log: log, Targets: []Target{{Dialer: ok.Dialer}}},
			[]string{"target 1", "no group", "no address"}},
		{"no dialer", Options{Log: log, Targets: []Target{{Group: "g", Address: "a:1"}}}, []string{`target 1 ("a:1"): no dialer`}},
		{"duplicate address in a group", Options{Log: log, Targets: []Target{ok, tgt("other", ok.Address), ok}},
			[]string{`target 3`, `address 127.0.0.1:5667 appears twice in group "main"`}},
		{"negative settings", Options{Log: log, Targets: []Target{ok}, FlushInterval: -1, BatchSize: -1},
			[]string{"FlushInterval is negative", "BatchSize is negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("err = %v, want ErrInvalidOptions", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// No targets yet is a spooler waiting for Apply to bring some.
	if _, err := New(Options{Log: log}); err != nil {
		t.Errorf("no targets: %v", err)
	}
	// The same address in two groups is fan-out, not a mistake.
	if _, err := New(Options{Log: log, Targets: []Target{ok, tgt("other", ok.Address)}}); err != nil {
		t.Errorf("same address in two groups: %v", err)
	}
}

func TestStatsListGroupsInConfigOrder(t *testing.T) {
	s := mustNew(t, Options{Log: &memLog{}, Targets: []Target{
		tgt("b", "10.0.0.1:5667"), tgt("a", "10.0.0.2:5667"), tgt("b", "10.0.0.3:5667"),
	}})
	st := s.Stats()
	if len(st.Groups) != 2 || st.Groups[0].Cursor != "b" || st.Groups[1].Cursor != "a" {
		t.Fatalf("groups %+v", st.Groups)
	}
	if ts := st.Groups[0].Targets; len(ts) != 2 || ts[0].Name != "10.0.0.1:5667" || ts[1].Address != "10.0.0.3:5667" {
		t.Errorf("group b targets %+v", ts)
	}
}

// A dead group keeps its cursor while a live one gets everything; once
// its server comes up it catches up, in order, every record exactly once.
func TestDeadGroupDoesNotDelayLiveOne(t *testing.T) {
	log := &memLog{}
	live := startReceiver(t, "127.0.0.1:0", nsca.None)
	deadAddr := closedAddr(t)
	t0 := time.Now()
	last := addNumbered(t, log, t0, 0, 200)
	s := mustNew(t, Options{Log: log, BatchSize: 64, FlushInterval: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Targets: []Target{tgt("dead", deadAddr), tgt("live", live.addr)}})
	running(t, s)

	wantNumbered(t, "live", outputs(live.wait(t, 200)), 0, 200)
	waitFor(t, "live cursor at the end", func() bool { return log.Position("live") == last })
	if p := log.Position("dead"); p != 0 {
		t.Errorf("dead group's cursor moved to %d", p)
	}
	if g := groupStats(t, s, "dead"); g.Active != "" || g.Targets[0].Up || g.Targets[0].Failures == 0 || g.LastError == "" {
		t.Errorf("dead group stats %+v", g)
	}

	back := startReceiver(t, deadAddr, nsca.None)
	waitFor(t, "dead cursor at the end", func() bool { return log.Position("dead") == last })
	wantNumbered(t, "revived", back.outputs(), 0, 200)
	if g := groupStats(t, s, "dead"); g.Sent != 200 || g.Committed != last || !g.Targets[0].Up {
		t.Errorf("revived group stats %+v", g)
	}
	wantNumbered(t, "live", live.outputs(), 0, 200) // nothing sent twice meanwhile
}

func outputs(ps []nsca.Packet) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Output)
	}
	return out
}

// Primary dead: the standby gets everything. The primary comes back:
// traffic returns to it. Nothing is lost or sent twice across either
// switch, and each switch is logged once.
func TestFailoverAndReturnToPrimary(t *testing.T) {
	log := &memLog{}
	var logs logBuffer
	primaryAddr := closedAddr(t)
	standby := startReceiver(t, "127.0.0.1:0", nsca.None)
	t0 := time.Now()
	addNumbered(t, log, t0, 0, 50)
	s := mustNew(t, Options{Log: log, BatchSize: 16, FlushInterval: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Logger: logs.logger(), Targets: []Target{tgt("g", primaryAddr), tgt("g", standby.addr)}})
	running(t, s)
	wantNumbered(t, "standby", outputs(standby.wait(t, 50)), 0, 50)
	if g := groupStats(t, s, "g"); g.Active != standby.addr {
		t.Errorf("active %q, want the standby", g.Active)
	}

	primary := startReceiver(t, primaryAddr, nsca.None)
	n := 50
	waitFor(t, "traffic to return to the primary", func() bool {
		addNumbered(t, log, t0, n, n+1)
		n++
		s.Wake()
		return primary.count() > 0
	})
	last := addNumbered(t, log, t0, n, n+50)
	n += 50
	waitFor(t, "cursor at the end", func() bool { return log.Position("g") == last })

	got := append(standby.outputs(), primary.outputs()...)
	wantNumbered(t, "standby then primary", got, 0, n)
	if g := groupStats(t, s, "g"); g.Active != primaryAddr || g.Sent != uint64(n) {
		t.Errorf("stats: active %q sent %d, want the primary and %d", g.Active, g.Sent, n)
	}
	if c := logs.count("failed over to a standby"); c != 1 {
		t.Errorf("failover logged %d times, want once\n%s", c, logs.String())
	}
	if c := logs.count("sending to the primary target again"); c != 1 {
		t.Errorf("return logged %d times, want once\n%s", c, logs.String())
	}
}

// cutDialer speaks real NSCA over a real connection, but cuts its first
// connection in the middle of the packet after the first k: a link that
// dies during a batch.
type cutDialer struct {
	d    nsca.Dialer
	k    int
	used atomic.Bool
}

func (c *cutDialer) Dial(ctx context.Context, addr string) (Conn, error) {
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if !c.used.Swap(true) {
		nc = &cutConn{Conn: nc, budget: c.k*nsca.PacketSize + nsca.PacketSize/2}
	}
	conn, err := c.d.Handshake(ctx, nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return nscaConn{c: conn, max: nsca.MaxOutput}, nil
}

type cutConn struct {
	net.Conn
	budget int
}

var errCut = errors.New("link cut")

func (c *cutConn) Write(p []byte) (int, error) {
	if len(p) <= c.budget {
		c.budget -= len(p)
		return c.Conn.Write(p)
	}
	n, _ := c.Conn.Write(p[:c.budget])
	c.budget = 0
	c.Conn.Close()
	return n, errCut
}

// The cursor covers exactly the packets written before the link broke;
// the rest are sent again, none lost, none twice.
func TestCursorCoversOnlyWrittenPackets(t *testing.T) {
	const k = 7
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	t0 := time.Now()
	var seqs []uint64
	for i := range 30 {
		seqs = append(seqs, log.add(t, numbered(t0, i)))
	}
	s := mustNew(t, Options{Log: log, Targets: []Target{
		{Group: "g", Address: rcv.addr, Dialer: &cutDialer{d: nsca.Dialer{Method: nsca.None}, k: k}},
	}})
	err := s.Flush(context.Background())
	if !errors.Is(err, errAllDown) || !errors.Is(err, errCut) {
		t.Fatalf("first flush: %v, want the cut link", err)
	}
	if p := log.Position("g"); p != seqs[k-1] {
		t.Fatalf("cursor at %d after %d packets, want %d", p, k, seqs[k-1])
	}
	waitFor(t, "the receiver to drop the half packet", func() bool { return rcv.srv.Stats().ShortPackets == 1 })
	wantNumbered(t, "receiver", rcv.outputs(), 0, k)

	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("second flush: %v", err)
	}
	wantNumbered(t, "receiver", outputs(rcv.wait(t, 30)), 0, 30)
	if p := log.Position("g"); p != seqs[29] {
		t.Errorf("cursor at %d, want %d", p, seqs[29])
	}
	g := groupStats(t, s, "g")
	if g.Sent != 30 || g.Targets[0].Failures != 1 || !g.Targets[0].Up {
		t.Errorf("stats %+v", g)
	}
}

// Wake sends a new result at once: with an hour between flush ticks,
// nothing else could explain its arrival.
func TestWakeSendsAtOnce(t *testing.T) {
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	s := mustNew(t, Options{Log: log, FlushInterval: time.Hour, Targets: []Target{tgt("g", rcv.addr)}})
	running(t, s)
	waitFor(t, "the first pass", func() bool { return log.readCount() > 0 })
	t0 := time.Now()
	addNumbered(t, log, t0, 0, 1)
	s.Wake()
	wantNumbered(t, "receiver", outputs(rcv.wait(t, 1)), 0, 1)
	addNumbered(t, log, t0, 1, 3)
	s.Wake()
	s.Wake() // never blocks, even with a wake-up already waiting
	wantNumbered(t, "receiver", outputs(rcv.wait(t, 3)), 0, 3)
}

// At shutdown, after Run returned, Flush sends what came in last, such as
// the results of plugins killed on the way out.
func TestFlushAtShutdown(t *testing.T) {
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	s := mustNew(t, Options{Log: log, FlushInterval: time.Hour, BatchSize: 4,
		Targets: []Target{tgt("g", rcv.addr), tgt("down", closedAddr(t))}})
	stop := running(t, s)
	waitFor(t, "the first pass", func() bool { return log.readCount() > 0 })
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	last := addNumbered(t, log, time.Now(), 0, 10)
	ctx, cancel := context.WithTimeout(context.Background(), pollDeadline)
	defer cancel()
	err := s.Flush(ctx)
	wantNumbered(t, "receiver", outputs(rcv.wait(t, 10)), 0, 10)
	if log.Position("g") != last {
		t.Errorf("cursor %d, want %d", log.Position("g"), last)
	}
	// The dead group's failure is reported, by name.
	if !errors.Is(err, errAllDown) || !strings.Contains(err.Error(), `group "down"`) || strings.Contains(err.Error(), `group "g"`) {
		t.Errorf("Flush: %v", err)
	}
}

// stalledServer sends a valid init packet, then reads one byte and no
// more, so a client's batch hangs in the middle once the socket buffers
// are full. reading is closed when that byte arrives.
func stalledServer(t *testing.T) (addr string, reading <-chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			var init [nsca.InitPacketSize]byte
			c.Write(init[:])
			var b [1]byte
			if _, err := c.Read(b[:]); err == nil {
				once.Do(func() { close(read) })
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), read
}

// Cancelling Run with a batch stuck in flight returns promptly, and the
// cursor covers exactly what was written.
func TestRunStopsBatchInFlight(t *testing.T) {
	log := &memLog{}
	addr, reading := stalledServer(t)
	addNumbered(t, log, time.Now(), 0, 5000) // 21 MB: more than the socket buffers hold
	s := mustNew(t, Options{Log: log, BatchSize: 5000, SendTimeout: time.Hour, Targets: []Target{tgt("g", addr)}})
	stop := running(t, s)
	<-reading
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	g := groupStats(t, s, "g")
	if g.Sent == 5000 {
		t.Fatal("the whole batch went through: the server did not stall it")
	}
	if p := log.Position("g"); p != g.Sent || g.Committed != p {
		t.Errorf("cursor at %d (stats %d), want %d: the packets written", p, g.Committed, g.Sent)
	}
	if g.Targets[0].Failures != 0 {
		t.Errorf("shutdown counted as a target failure: %+v", g.Targets[0])
	}
}

// Read and Commit errors are logged and retried; they never stop the
// sender, and nothing is lost.
func TestLogErrorsAreRetried(t *testing.T) {
	log := &memLog{readErrs: 3, commitErrs: 3}
	var logs logBuffer
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	last := addNumbered(t, log, time.Now(), 0, 40)
	s := mustNew(t, Options{Log: log, BatchSize: 8, FlushInterval: 10 * time.Millisecond, Logger: logs.logger(),
		Targets: []Target{tgt("g", rcv.addr)}})
	running(t, s)
	waitFor(t, "cursor at the end", func() bool { return log.Position("g") == last })
	wantNumbered(t, "receiver", rcv.outputs(), 0, 40)
	if g := groupStats(t, s, "g"); !strings.Contains(g.LastError, "disk on fire") || g.Committed != last {
		t.Errorf("stats %+v", g)
	}
	// Three identical read errors within a minute make one line.
	if c := logs.count("read cursor"); c != 1 {
		t.Errorf("read error logged %d times, want once\n%s", c, logs.String())
	}
}

// Retention drops the oldest results while the target is down, including
// some the group had already read into its batch: those are not sent when
// the target comes back, so what arrives is the newest, without a hole.
func TestResultsDroppedDuringOutageAreNotSent(t *testing.T) {
	log := &memLog{}
	addr := closedAddr(t)
	t0 := time.Now()
	addNumbered(t, log, t0, 0, 100)
	s := mustNew(t, Options{Log: log, BatchSize: 64, Targets: []Target{tgt("g", addr)}})
	// Flush, not Run, so that retention strikes exactly between the
	// failed attempt and the next: a batch is read and waits.
	if err := s.Flush(context.Background()); err == nil {
		t.Fatal("flush to a closed port succeeded")
	}
	log.dropFront(80)
	rcv := startReceiver(t, addr, nsca.None)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := log.Position("g"); p != 100 {
		t.Errorf("cursor at %d, want 100", p)
	}
	wantNumbered(t, "receiver", rcv.outputs(), 80, 100)
}
