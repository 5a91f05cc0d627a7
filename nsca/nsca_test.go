package nsca

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collector is a Handler that keeps what it gets.
type collector struct {
	mu   sync.Mutex
	got  []Received
	more chan struct{}
}

func newCollector() *collector { return &collector{more: make(chan struct{}, 1<<16)} }

func (c *collector) HandleNSCA(_ context.Context, r Received) {
	c.mu.Lock()
	c.got = append(c.got, r)
	c.mu.Unlock()
	c.more <- struct{}{}
}

// wait blocks until n packets have arrived in total.
func (c *collector) wait(t *testing.T, n int) []Received {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		if len(c.got) >= n {
			out := append([]Received(nil), c.got...)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		select {
		case <-c.more:
		case <-timeout:
			t.Fatalf("waited for %d packets, have %d", n, len(c.got))
		}
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs srv on a loopback port until the test ends.
func startServer(t *testing.T, srv *Server) (addr string, logs *syncBuffer) {
	t.Helper()
	logs = &syncBuffer{}
	if srv.Logger == nil {
		srv.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), logs
}

func testPackets() []Packet {
	return []Packet{
		{Host: "web01", Service: "disk_root", ReturnCode: 1, Output: "DISK WARNING | /=18000MB;19000;20000"},
		{Host: "web01", ReturnCode: 0, Output: "host is up"},
		{Host: "web01", Service: "multi", ReturnCode: 2, Output: "first\nsecond \\ line\nthird"},
		{Host: strings.Repeat("h", MaxHost), Service: strings.Repeat("s", MaxService), ReturnCode: 3, Output: strings.Repeat("x", MaxOutput)},
		{Host: "db01", Service: "négatif", ReturnCode: -1, Output: ""},
	}
}

func implementedMethods() []Method {
	var out []Method
	for m := range Method(27) {
		if m.Implemented() {
			out = append(out, m)
		}
	}
	return out
}

func TestRoundTripEveryMethod(t *testing.T) {
	for _, m := range implementedMethods() {
		for _, legacy := range []bool{false, true} {
			name := m.String()
			if legacy {
				name += "/legacy"
			}
			t.Run(name, func(t *testing.T) {
				col := newCollector()
				pw := []byte("s3cret")
				addr, _ := startServer(t, &Server{Method: m, Password: pw, Handler: col})
				d := Dialer{Method: m, Password: pw, Legacy: legacy}
				c, err := d.Dial(context.Background(), addr)
				if err != nil {
					t.Fatal(err)
				}
				want := testPackets()
				for _, p := range want {
					if err := c.Send(context.Background(), p); err != nil {
						t.Fatal(err)
					}
				}
				if c.Sent() != len(want) {
					t.Errorf("Sent() = %d, want %d", c.Sent(), len(want))
				}
				c.Close()
				got := col.wait(t, len(want))
				for i, w := range want {
					w.Timestamp = uint32(c.ServerTime().Unix())
					if legacy {
						w.Output = TruncateOutput(w.Output, MaxLegacyOutput)
					}
					if got[i].Packet != w {
						t.Errorf("packet %d:\n got %+v\nwant %+v", i, trim(got[i].Packet), trim(w))
					}
					if got[i].Legacy != legacy {
						t.Errorf("packet %d: Legacy = %v", i, got[i].Legacy)
					}
				}
			})
		}
	}
}

func TestWrongPasswordIsRejectedAndLogged(t *testing.T) {
	for _, m := range []Method{XOR, Rijndael128, Blowfish} {
		t.Run(m.String(), func(t *testing.T) {
			col := newCollector()
			srv := &Server{Method: m, Password: []byte("right"), Handler: col}
			addr, logs := startServer(t, srv)
			d := Dialer{Method: m, Password: []byte("wrong")}
			c, err := d.Dial(context.Background(), addr)
			if err != nil {
				t.Fatal(err)
			}
			// The server never answers: the client believes it sent.
			if err := c.Send(context.Background(), testPackets()[0]); err != nil {
				t.Fatal(err)
			}
			c.Close()
			waitFor(t, func() bool { st := srv.Stats(); return st.BadCRC+st.BadVersion == 1 })
			if st := srv.Stats(); st.Packets != 0 {
				t.Errorf("accepted %d packets with a wrong password", st.Packets)
			}
			// The count moves before the line is written.
			waitFor(t, func() bool { return strings.Contains(logs.String(), "wrong password") })
			out := logs.String()
			if !strings.Contains(out, "wrong password or encryption method") || !strings.Contains(out, "client=127.0.0.1:") {
				t.Errorf("log does not give reason and client:\n%s", out)
			}
			if strings.Contains(out, "right") || strings.Contains(out, "wrong\"") {
				t.Errorf("log mentions a password:\n%s", out)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStalePacketsAreDropped(t *testing.T) {
	// Seconds added to the server's clock after the init packet; 45 against
	// a 30s limit leaves room for the init timestamp's whole-second
	// truncation and a slow machine.
	var skew atomic.Int64
	col := newCollector()
	srv := &Server{Method: XOR, MaxPacketAge: 30 * time.Second, Handler: col,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load()) * time.Second) }}
	addr, logs := startServer(t, srv)
	c, err := (&Dialer{Method: XOR}).Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(svc string) {
		if err := c.Send(context.Background(), Packet{Host: "h", Service: svc, Output: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	send("fresh")
	col.wait(t, 1)
	skew.Store(45)
	send("old")
	waitFor(t, func() bool { return srv.Stats().Stale == 1 })
	skew.Store(-45)
	send("future")
	waitFor(t, func() bool { return srv.Stats().Stale == 2 })
	skew.Store(0)
	send("fresh again")
	if got := col.wait(t, 2); got[1].Service != "fresh again" {
		t.Errorf("got %q after two stale packets", got[1].Service)
	}
	if !strings.Contains(logs.String(), "stale timestamp") {
		t.Errorf("no stale log:\n%s", logs)
	}
}

func TestStalledClientDoesNotBlockOthers(t *testing.T) {
	col := newCollector()
	srv := &Server{Method: Rijndael128, Password: []byte("pw"), Handler: col, ReadTimeout: time.Hour}
	addr, _ := startServer(t, srv)

	stalled, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := io.ReadFull(stalled, make([]byte, InitPacketSize)); err != nil {
		t.Fatal(err)
	}
	if _, err := stalled.Write(make([]byte, PacketSize/2)); err != nil { // half a packet, then silence
		t.Fatal(err)
	}

	d := Dialer{Method: Rijndael128, Password: []byte("pw")}
	for i := range 3 {
		c, err := d.Dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Send(context.Background(), Packet{Host: "h", Service: "s", Output: "ok"}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		col.wait(t, i+1)
	}
}

func TestConnectionLimit(t *testing.T) {
	col := newCollector()
	srv := &Server{Method: None, Handler: col, MaxConns: 1, MaxConnsPerSource: -1, ReadTimeout: time.Hour}
	addr, logs := startServer(t, srv)
	first, err := (&Dialer{}).Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// The slot is taken once the server has written our init packet.
	if _, err := (&Dialer{Timeout: 5 * time.Second}).Dial(context.Background(), addr); err == nil {
		t.Fatal("second connection got an init packet past MaxConns=1")
	}
	if srv.Stats().Refused != 1 || !strings.Contains(logs.String(), "too many connections") {
		t.Errorf("refused=%d, log:\n%s", srv.Stats().Refused, logs)
	}
	// The first connection still works.
	if err := first.Send(context.Background(), Packet{Host: "h", Output: "up"}); err != nil {
		t.Fatal(err)
	}
	col.wait(t, 1)
}

// One address holding its share of connections is refused more, while
// another address still gets in; a connection closed gives its slot back.
func TestConnectionLimitPerSource(t *testing.T) {
	col := newCollector()
	srv := &Server{Method: None, Handler: col, MaxConns: 16, MaxConnsPerSource: 2, ReadTimeout: time.Hour}
	addr, logs := startServer(t, srv)
	from := func(ip string) (*Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		nc, err := d.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		c, err := (&Dialer{Timeout: 5 * time.Second}).Handshake(context.Background(), nc)
		if err != nil {
			nc.Close()
		}
		return c, err
	}
	var held []*Conn
	for range 2 {
		c, err := from("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	if _, err := from("127.0.0.1"); err == nil {
		t.Fatal("a third connection from one address got an init packet past MaxConnsPerSource=2")
	}
	other, err := from("127.0.0.2")
	if err != nil {
		t.Fatalf("another address was locked out: %v", err)
	}
	if err := other.Send(context.Background(), Packet{Host: "h", Output: "from .2"}); err != nil {
		t.Fatal(err)
	}
	col.wait(t, 1)
	other.Close()
	if st := srv.Stats(); st.RefusedPerSource != 1 || st.Refused != 0 || !strings.Contains(logs.String(), "too many connections from this address") {
		t.Errorf("stats %+v, log:\n%s", st, logs)
	}
	held[0].Close()
	// The server notices the close when its read returns.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := from("127.0.0.1")
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection did not give its slot back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	held[1].Close()
}

// A server that accepts but never reads: the client's write must give up
// at its deadline and close the connection rather than leave a partial
// packet on it.
func TestSendTimeoutClosesConnection(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	go server.Write(make([]byte, InitPacketSize))
	c, err := (&Dialer{Method: XOR}).Handshake(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	partial := make(chan int)
	go func() { // read a little, then stall
		n, _ := server.Read(make([]byte, 100))
		partial <- n
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = c.Send(ctx, Packet{Host: "h", Output: "x"})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "100 of 4304 bytes written") {
		t.Fatalf("Send = %v", err)
	}
	<-partial
	if err := c.Send(context.Background(), Packet{Host: "h"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after failed write = %v, want ErrClosed", err)
	}
	if c.Sent() != 0 {
		t.Errorf("Sent() = %d", c.Sent())
	}
}

func TestDialCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never sends an init packet
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := (&Dialer{}).Dial(ctx, ln.Addr().String()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial = %v, want context.Canceled", err)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &Server{Method: None, Handler: newCollector(), ReadTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	idle, err := (&Dialer{}).Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("listener still accepting after Serve returned")
	}
}

func TestUnsupportedMethodRefused(t *testing.T) {
	// 7 is 3-Way: nsca's config parser takes it, but it never delivers a packet.
	if _, err := (&Dialer{Method: Method(7)}).Handshake(context.Background(), nil); err == nil {
		t.Error("Handshake accepted a method it cannot encrypt with")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := (&Server{Method: Method(99), Handler: newCollector()}).Serve(context.Background(), ln); err == nil {
		t.Error("Serve accepted an unknown method")
	}
}

// A TCP probe (check_tcp on port 5667 is common) connects and hangs up
// without sending: that is no rejected packet and no warning.
func TestProbeIsNotARejectedPacket(t *testing.T) {
	srv := &Server{Method: XOR, Handler: newCollector()}
	addr, logs := startServer(t, srv)
	for _, readInit := range []bool{true, false} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if readInit {
			io.ReadFull(nc, make([]byte, InitPacketSize))
		}
		nc.(*net.TCPConn).SetLinger(0) // hang up with a reset, as probes often do
		nc.Close()
	}
	waitFor(t, func() bool { return srv.Stats().Connections == 2 })
	// A real packet afterwards proves the server has handled both probes.
	c, err := (&Dialer{Method: XOR}).Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Send(context.Background(), Packet{Host: "h", Output: "x"})
	c.Close()
	srv.Handler.(*collector).wait(t, 1)
	if st := srv.Stats(); st.ShortPackets != 0 || strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("short=%d, log:\n%s", st.ShortPackets, logs)
	}
}

// A server that takes the connection but never reads: a burst must stop at
// the context's deadline, whether it is waiting in the pacer or in a write,
// and leave the connection closed.
func TestBurstIntoSilentServerEndsAtDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.Write(make([]byte, InitPacketSize))
		<-done // hold the connection open, never reading
	}()
	c, err := (&Dialer{Method: XOR}).Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	burst := make([]Packet, 2000) // 8.6 MB: more than the kernel buffers hold
	for i := range burst {
		burst[i] = Packet{Host: "h", Service: "s", Output: "x"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	n, err := c.SendBatch(ctx, burst)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendBatch = %d, %v; want a deadline error", n, err)
	}
	if n >= len(burst) || c.Sent() != n {
		t.Errorf("sent %d of %d, Sent() = %d", n, len(burst), c.Sent())
	}
	if err := c.Send(context.Background(), burst[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after deadline = %v, want ErrClosed", err)
	}
}
