package nsca

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Finish returns only once the server has read every packet: by then the
// handler has seen them all.
func TestFinishConfirmsEveryPacketWasRead(t *testing.T) {
	col := newCollector()
	addr, _ := startServer(t, &Server{Method: XOR, Password: []byte("pw"), Handler: col})
	c, err := (&Dialer{Method: XOR, Password: []byte("pw")}).Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]Packet, 100)
	for i := range ps {
		ps[i] = Packet{Host: "h", Service: "s", Output: "x"}
	}
	if _, err := c.SendBatch(context.Background(), ps); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(context.Background()); err != nil {
		t.Fatalf("Finish = %v", err)
	}
	col.mu.Lock()
	n := len(col.got)
	col.mu.Unlock()
	if n != len(ps) {
		t.Errorf("handler had %d of %d packets when Finish returned", n, len(ps))
	}
	if err := c.Send(context.Background(), ps[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Finish = %v, want ErrClosed", err)
	}
}

// A server that dies with packets unread, or never finishes reading, is an
// error, where a plain close would have passed for a success.
func TestFinishReportsUnreadPackets(t *testing.T) {
	for _, tt := range []struct {
		name  string
		serve func(net.Conn, <-chan struct{})
		want  func(error) bool
	}{
		{"server closes with data unread", func(nc net.Conn, _ <-chan struct{}) {
			time.Sleep(100 * time.Millisecond) // let the packets arrive unread
			nc.(*net.TCPConn).SetLinger(0)
			nc.Close()
		}, func(err error) bool { return err != nil }},
		{"server never reads", func(nc net.Conn, done <-chan struct{}) {
			<-done
			nc.Close()
		}, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
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
				nc.Write(make([]byte, InitPacketSize))
				tt.serve(nc, done)
			}()
			c, err := (&Dialer{Method: None}).Dial(context.Background(), ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.SendBatch(context.Background(), make([]Packet, 3)); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if err := c.Finish(ctx); !tt.want(err) {
				t.Errorf("Finish = %v", err)
			}
		})
	}
}

// Stream sends every good record to every connection, skips and reports
// the bad one, and returns once each server has read them all.
func TestStreamToSeveralServers(t *testing.T) {
	cols := []*collector{newCollector(), newCollector()}
	var conns []*Conn
	for _, col := range cols {
		addr, _ := startServer(t, &Server{Method: XOR, Password: []byte("pw"), Handler: col})
		c, err := (&Dialer{Method: XOR, Password: []byte("pw")}).Dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	in := NewInputScanner(strings.NewReader("web01\tdisk\t0\tok\x17web01\tdisk\tNaN\tbad code\x17web01\t1\thost down\x17"), '\t', 0x17)
	var bad []error
	if err := Stream(context.Background(), conns, in, func(err error) { bad = append(bad, err) }); err != nil {
		t.Fatalf("Stream = %v", err)
	}
	if len(bad) != 1 {
		t.Errorf("bad records reported: %v, want one", bad)
	}
	for i, col := range cols {
		col.mu.Lock()
		n := len(col.got)
		col.mu.Unlock()
		if n != 2 {
			t.Errorf("server %d read %d packets when Stream returned, want 2", i, n)
		}
	}
}

// A stalled input cannot hold a session open past its deadline.
func TestStreamEndsAtDeadlineOnStalledInput(t *testing.T) {
	addr, _ := startServer(t, &Server{Method: None, Handler: newCollector()})
	c, err := (&Dialer{Method: None}).Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := Stream(ctx, []*Conn{c}, NewInputScanner(pr, '\t', 0x17), func(error) {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stream = %v, want the deadline", err)
	}
}
