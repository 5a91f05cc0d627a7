package nsca

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for a Server's zero fields.
const (
	DefaultReadTimeout = 10 * time.Second // nsca's socket timeout
	DefaultMaxConns    = 512
)

// Received is one valid packet as the server accepted it.
type Received struct {
	Packet
	Remote net.Addr
	Time   time.Time // when the server finished reading it
	Legacy bool      // sent as a 720-byte NSCA 2.7 packet
	// Checked is when the result was checked, for a client that said so
	// (the check-time extension, offered when Server.CheckTimes is set);
	// zero otherwise.
	Checked time.Time
}

// Handler takes each valid packet. It is called from the connection's
// goroutine, so a slow handler slows only that client; it should hand the
// result on (a queue) rather than block.
type Handler interface {
	HandleNSCA(ctx context.Context, r Received)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, r Received)

// HandleNSCA calls f.
func (f HandlerFunc) HandleNSCA(ctx context.Context, r Received) { f(ctx, r) }

// Server accepts NSCA connections. Unlike nsca in single mode, every
// connection has its own goroutine and read deadline, so a client that stalls
// half-way through a packet delays nobody else.
type Server struct {
	Method   Method
	Password []byte
	// MaxPacketAge drops packets whose timestamp is further than this from
	// the server's clock, either way; zero disables the check. (nsca 2.10
	// parses max_packet_age but never applies it.)
	MaxPacketAge time.Duration
	// CheckTimes offers clients the check-time extension (checktime.go):
	// a picket agent then sends when each result was checked, and
	// Received.Checked says it.
	CheckTimes bool
	// ReadTimeout bounds the wait for each packet, and for an idle client.
	ReadTimeout time.Duration
	// MaxConns caps concurrent connections; more are closed at once.
	MaxConns int
	// MaxConnsPerSource caps the concurrent connections from one source
	// address, so one client (a broken or hostile one holding idle
	// connections) cannot take every slot and lock the others out.
	// Zero: MaxConns/8, at least 1; negative: no cap per source.
	MaxConnsPerSource int
	Handler           Handler
	Logger            *slog.Logger
	// Now and Rand replace the clock and the IV source in tests.
	Now  func() time.Time
	Rand io.Reader

	stats   serverCounters
	logOnce sync.Once
	limit   *logLimiter
}

// Stats are a server's running totals.
type Stats struct {
	Connections uint64 // accepted and served
	Refused     uint64 // closed because MaxConns was reached
	// RefusedPerSource were closed because their source address had
	// MaxConnsPerSource open already.
	RefusedPerSource uint64
	Packets          uint64 // valid packets handed to the Handler
	LegacyPackets    uint64 // of which 720-byte packets
	BadVersion       uint64
	BadCRC           uint64
	Stale            uint64
	ShortPackets     uint64 // connection ended or timed out inside a packet
	HandshakeFails   uint64
}

type serverCounters struct {
	connections, refused, refusedSource, packets, legacy, badVersion, badCRC, stale, short, handshake atomic.Uint64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Connections: c.connections.Load(), Refused: c.refused.Load(), RefusedPerSource: c.refusedSource.Load(),
		Packets: c.packets.Load(), LegacyPackets: c.legacy.Load(),
		BadVersion: c.badVersion.Load(), BadCRC: c.badCRC.Load(), Stale: c.stale.Load(),
		ShortPackets: c.short.Load(), HandshakeFails: c.handshake.Load(),
	}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// ListenAndServe listens on addr and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("nsca listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends, then closes ln and every
// open connection and returns nil once all connection goroutines are done.
// It returns an error if accepting fails for another reason.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.Method.Implemented() {
		ln.Close()
		return fmt.Errorf("encryption method %d (%s) is not supported", int(s.Method), s.Method)
	}
	if s.Handler == nil {
		ln.Close()
		return errors.New("nsca server has no handler")
	}
	s.logOnce.Do(func() { s.limit = newLogLimiter(s.logger(), 10, time.Second) })
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	stopAccept := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopAccept()
	slots := make(chan struct{}, maxConns)
	perSource := newSourceLimit(s.MaxConnsPerSource, maxConns)
	var tempDelay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				// Out of descriptors or similar: back off instead of
				// spinning, as net/http does.
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				s.limit.log(slog.LevelWarn, "nsca accept failed, retrying", "err", err, "delay", tempDelay)
				select {
				case <-time.After(tempDelay):
					continue
				case <-ctx.Done():
					return nil
				}
			}
			return fmt.Errorf("nsca accept: %w", err)
		}
		tempDelay = 0
		src := sourceOf(nc.RemoteAddr())
		if !perSource.take(src) {
			s.stats.refusedSource.Add(1)
			s.limit.log(slog.LevelWarn, "nsca connection refused: too many connections from this address",
				"client", nc.RemoteAddr().String(), "max_conns_per_source", perSource.max)
			nc.Close()
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			perSource.give(src)
			s.stats.refused.Add(1)
			s.limit.log(slog.LevelWarn, "nsca connection refused: too many connections",
				"client", nc.RemoteAddr().String(), "max_conns", maxConns)
			nc.Close()
			continue
		}
		s.stats.connections.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots; perSource.give(src) }()
			stop := context.AfterFunc(ctx, func() { nc.Close() })
			defer stop()
			defer nc.Close()
			s.serveConn(ctx, nc)
		}()
	}
}

func (s *Server) readTimeout() time.Duration {
	if s.ReadTimeout > 0 {
		return s.ReadTimeout
	}
	return DefaultReadTimeout
}

// serveConn runs one connection: init packet, then packets until the client
// closes, stalls past the read timeout, or sends a packet that fails its
// checks (after which the cipher stream cannot be trusted).
func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	remote := nc.RemoteAddr()
	var init [InitPacketSize]byte
	rnd := s.Rand
	if rnd == nil {
		rnd = crand.Reader
	}
	if _, err := io.ReadFull(rnd, init[:IVSize]); err != nil {
		s.logger().Error("nsca: cannot generate IV", "err", err)
		return
	}
	if s.CheckTimes {
		markIV(init[:IVSize])
	}
	binary.BigEndian.PutUint32(init[IVSize:], uint32(s.now().Unix()))
	nc.SetWriteDeadline(time.Now().Add(s.readTimeout()))
	if _, err := nc.Write(init[:]); err != nil {
		s.stats.handshake.Add(1)
		s.limit.log(slog.LevelInfo, "nsca: cannot send init packet", "client", remote.String(), "err", err)
		return
	}
	cr, err := newCrypter(s.Method, s.Password, init[:IVSize])
	if err != nil {
		s.logger().Error("nsca: cannot set up decryption", "err", err)
		return
	}
	// Buffered reads take a burst of packets in one system call; the
	// deadline is still renewed per packet.
	r := bufio.NewReaderSize(nc, 16*PacketSize)
	buf := make([]byte, PacketSize)
	for {
		// Renewing the deadline costs a clock read and a timer update;
		// a packet already in the buffer needs no wait at all.
		if r.Buffered() < PacketSize {
			nc.SetReadDeadline(time.Now().Add(s.readTimeout()))
		}
		n, err := io.ReadFull(r, buf[:LegacySize])
		if err != nil {
			// Between packets, a client that hangs up, resets or idles
			// out is no fault: a TCP probe such as check_tcp does exactly
			// that. Only a packet cut short is worth a warning.
			if n == 0 || ctx.Err() != nil {
				return
			}
			s.short(remote, n, err)
			return
		}
		cr.decrypt(buf[:LegacySize], 0)
		pkt, perr := decode(buf[:LegacySize])
		legacy := perr == nil
		if !legacy {
			m, err := io.ReadFull(r, buf[LegacySize:])
			if err != nil {
				if ctx.Err() == nil {
					s.short(remote, LegacySize+m, err)
				}
				return
			}
			cr.decrypt(buf[LegacySize:], LegacySize)
			pkt, perr = decode(buf)
		}
		if perr != nil {
			s.reject(remote, perr)
			return
		}
		if s.CheckTimes && isProbe(buf, pkt) { // probe.go: not a result
			if !s.answerProbe(nc, pkt) {
				return
			}
			continue
		}
		now := s.now()
		if s.stale(pkt, now) {
			s.stats.stale.Add(1)
			s.limit.log(slog.LevelWarn, "nsca packet rejected: stale timestamp",
				"client", remote.String(), "host", pkt.Host, "service", pkt.Service,
				"age", now.Sub(pkt.Time()).Truncate(time.Second).String(), "max_packet_age", s.MaxPacketAge.String())
			continue
		}
		s.stats.packets.Add(1)
		if legacy {
			s.stats.legacy.Add(1)
		}
		rcv := Received{Packet: pkt, Remote: remote, Time: now, Legacy: legacy}
		if s.CheckTimes && pkt.CheckTime {
			rcv.Checked = pkt.Time()
		}
		s.Handler.HandleNSCA(ctx, rcv)
	}
}

// stale applies MaxPacketAge to a timestamp that should be the server's
// own clock at connect, echoed. A check time (the extension) is as old as
// the result is, which the client's spool bounds; only one from the future
// is refused.
func (s *Server) stale(p Packet, now time.Time) bool {
	if s.CheckTimes && p.CheckTime {
		return p.Time().Sub(now) > maxAhead
	}
	if s.MaxPacketAge <= 0 {
		return false
	}
	age := now.Sub(p.Time())
	return age > s.MaxPacketAge || age < -s.MaxPacketAge
}

func (s *Server) short(remote net.Addr, n int, err error) {
	s.stats.short.Add(1)
	reason := "connection closed"
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		reason = "read timeout"
	}
	s.limit.log(slog.LevelWarn, "nsca packet rejected: "+reason+" inside a packet",
		"client", remote.String(), "bytes", n, "want", PacketSize)
}

func (s *Server) reject(remote net.Addr, err error) {
	switch {
	case errors.Is(err, ErrVersion):
		s.stats.badVersion.Add(1)
	case errors.Is(err, ErrCRC):
		s.stats.badCRC.Add(1)
	}
	s.limit.log(slog.LevelWarn, "nsca packet rejected, closing connection",
		"client", remote.String(), "reason", err.Error())
}
