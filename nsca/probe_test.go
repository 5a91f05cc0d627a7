package nsca

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// A picket server answers a probe sent with its own password and cipher,
// and hangs up on one sent with another; the probe never reaches the
// Handler, and the connection carries results afterwards. Every method,
// both packet sizes.
func TestProbeEveryMethod(t *testing.T) {
	for _, m := range implementedMethods() {
		for _, legacy := range []bool{false, true} {
			name := m.String()
			if legacy {
				name += "/legacy"
			}
			t.Run(name, func(t *testing.T) {
				col := newCollector()
				srv := &Server{Method: m, Password: []byte("right"), Handler: col, CheckTimes: true}
				addr, _ := startServer(t, srv)

				c := dialProbe(t, addr, Dialer{Method: m, Password: []byte("right"), Legacy: legacy})
				if err := c.Probe(context.Background()); err != nil {
					t.Fatalf("right password: %v", err)
				}
				p := Packet{Host: "web01", Service: "disk", Output: "after the probe"}
				if err := c.Send(context.Background(), p); err != nil {
					t.Fatal(err)
				}
				if err := c.Finish(context.Background()); err != nil {
					t.Fatal(err)
				}
				if got := col.wait(t, 1); len(got) != 1 || got[0].Host != "web01" || got[0].Output != p.Output {
					t.Errorf("handler got %+v, want only the result sent after the probe", got)
				}

				c = dialProbe(t, addr, Dialer{Method: m, Password: []byte("wrong"), Legacy: legacy})
				err := c.Probe(context.Background())
				switch {
				case m == None && err != nil: // none reads no password: any is right
					t.Errorf("wrong password, method none: %v, want nil", err)
				case m != None && !errors.Is(err, ErrProbeRejected):
					t.Errorf("wrong password: got %v, want ErrProbeRejected", err)
				}
				c.Close()

				other := XOR
				if m == XOR {
					other = Blowfish
				}
				c = dialProbe(t, addr, Dialer{Method: other, Password: []byte("right"), Legacy: legacy})
				if err := c.Probe(context.Background()); !errors.Is(err, ErrProbeRejected) {
					t.Errorf("method %s against %s: got %v, want ErrProbeRejected", other, m, err)
				}
				c.Close()
				if st := srv.Stats(); st.Packets != 1 {
					t.Errorf("server counted %d packets, want 1 (probes are not results)", st.Packets)
				}
			})
		}
	}
}

func dialProbe(t *testing.T, addr string, d Dialer) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A server that sends no marker (a plain nsca, or picket's Server without
// CheckTimes) is never probed: nothing is written.
func TestProbeUnsupported(t *testing.T) {
	col := newCollector()
	srv := &Server{Method: XOR, Password: []byte("pw"), Handler: col}
	addr, _ := startServer(t, srv)
	c := dialProbe(t, addr, Dialer{Method: XOR, Password: []byte("pw")})
	if err := c.Probe(context.Background()); !errors.Is(err, ErrProbeUnsupported) {
		t.Fatalf("got %v, want ErrProbeUnsupported", err)
	}
	if err := c.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.Packets != 0 || st.BadCRC != 0 || st.ShortPackets != 0 {
		t.Errorf("the probe wrote something: %+v", st)
	}
}

// A server that reads the probe and says nothing (a picket server from
// before probes, or a proxy) leaves the client waiting only as long as its
// context allows.
func TestProbeNoAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	release := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		init := make([]byte, InitPacketSize)
		markIV(init[:IVSize])
		binary.BigEndian.PutUint32(init[IVSize:], uint32(time.Now().Unix()))
		nc.Write(init)
		go io.Copy(io.Discard, nc)
		<-release
	}()
	c := dialProbe(t, ln.Addr().String(), Dialer{Method: None})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = c.Probe(ctx)
	close(release)
	<-served
	if !errors.Is(err, ErrProbeNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want ErrProbeNoAnswer and the deadline", err)
	}
}

// Only a packet that is a probe in every part is answered: a send_nsca
// result whose random padding equals the flag, or one for host
// picket-probe, is a result as any other. And a server without CheckTimes
// takes even a real probe for a result, as nsca would (clients never send
// it one).
func TestProbeLookalikesAreResults(t *testing.T) {
	nonce := strings.Repeat("0123456789abcdef", 2)
	for _, tt := range []struct {
		name       string
		checkTimes bool
		flag       uint16
		p          Packet
	}{
		{"flag, other host", true, probeFlag, Packet{Host: "web01", Output: nonce}},
		{"flag, a service", true, probeFlag, Packet{Host: probeHost, Service: "x", Output: nonce}},
		{"flag, return code 2", true, probeFlag, Packet{Host: probeHost, ReturnCode: 2, Output: nonce}},
		{"flag, output not a nonce", true, probeFlag, Packet{Host: probeHost, Output: "PING OK"}},
		{"flag, upper-case hex", true, probeFlag, Packet{Host: probeHost, Output: strings.ToUpper(nonce)}},
		{"no flag", true, 0, Packet{Host: probeHost, Output: nonce}},
		{"check-time flag", true, checkTimeFlag, Packet{Host: probeHost, Output: nonce}},
		{"server without CheckTimes", false, probeFlag, Packet{Host: probeHost, Output: nonce}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			col := newCollector()
			srv := &Server{Method: Blowfish, Password: []byte("pw"), Handler: col, CheckTimes: tt.checkTimes}
			addr, _ := startServer(t, srv)
			c := dialProbe(t, addr, Dialer{Method: Blowfish, Password: []byte("pw")})
			buf := make([]byte, PacketSize)
			p := tt.p
			p.Timestamp = c.timestamp
			if err := p.encode(buf); err != nil {
				t.Fatal(err)
			}
			binary.BigEndian.PutUint16(buf[offPad:], tt.flag)
			binary.BigEndian.PutUint32(buf[offCRC:], 0)
			binary.BigEndian.PutUint32(buf[offCRC:], crc32.ChecksumIEEE(buf))
			c.crypt.encrypt(buf, 0)
			if _, err := c.nc.Write(buf); err != nil {
				t.Fatal(err)
			}
			// Finish reads until the server hangs up: an answer would
			// come first, and Finish would skip it, so read it here.
			c.nc.(*net.TCPConn).CloseWrite()
			c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			extra, err := io.ReadAll(c.nc)
			if err != nil {
				t.Fatal(err)
			}
			if len(extra) != 0 {
				t.Errorf("the server answered %q: it took a result for a probe", extra)
			}
			if got := col.wait(t, 1); got[0].Host != p.Host || got[0].Output != p.Output {
				t.Errorf("handler got %+v", got[0])
			}
		})
	}
}

// Whatever a client sends, a packet is taken for a probe only in the exact
// form encodeProbe gives it, and what encodeProbe writes always is one.
func FuzzIsProbe(f *testing.F) {
	probe := make([]byte, PacketSize)
	if err := encodeProbe(probe, 1, strings.Repeat("ab", probeNonceBytes)); err != nil {
		f.Fatal(err)
	}
	f.Add(probe[:offService+8], "x")
	f.Add(probe[:offHost+20], strings.Repeat("0f", probeNonceBytes))
	f.Add([]byte{0, 3, 0x50, 0x52}, "picket-probe")
	f.Fuzz(func(t *testing.T, head []byte, nonce string) {
		buf := make([]byte, PacketSize)
		copy(buf, head)
		binary.BigEndian.PutUint16(buf[offVersion:], packetVersion)
		binary.BigEndian.PutUint32(buf[offCRC:], checksum(buf))
		p, err := decode(buf)
		if err != nil {
			t.Fatal(err)
		}
		if isProbe(buf, p) && (binary.BigEndian.Uint16(buf[offPad:]) != probeFlag || p.Host != probeHost ||
			p.Service != "" || p.ReturnCode != 0 || len(p.Output) != 2*probeNonceBytes || strings.Trim(p.Output, "0123456789abcdef") != "") {
			t.Fatalf("taken for a probe: %+v", p)
		}
		if len(nonce) != 2*probeNonceBytes || strings.Trim(nonce, "0123456789abcdef") != "" {
			return
		}
		if err := encodeProbe(buf, 7, nonce); err != nil {
			t.Fatal(err)
		}
		if p, err := decode(buf); err != nil || !isProbe(buf, p) {
			t.Fatalf("encodeProbe(%q) is no probe: %+v, %v", nonce, p, err)
		}
	})
}
