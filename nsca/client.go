package nsca

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultTimeout is send_nsca's default for connecting and reading the init
// packet.
const DefaultTimeout = 10 * time.Second

// ErrClosed is returned by Send on a connection that was closed, by Close or
// after a failed write.
var ErrClosed = errors.New("nsca connection closed")

// Dialer holds what a client needs to talk to one NSCA server.
type Dialer struct {
	Method   Method
	Password []byte
	// Legacy sends 720-byte packets (output cut at 511 bytes) for NSCA 2.7
	// daemons.
	Legacy bool
	// Timeout bounds connecting and reading the init packet; zero means
	// DefaultTimeout. The context can shorten it.
	Timeout time.Duration
	// InFlight caps the packets written but not yet acknowledged by the
	// server's TCP stack (Linux only), so a burst never runs far ahead of a
	// slow server; zero means DefaultInFlight, negative means no cap.
	InFlight int
	// ArrivalTimes keeps sending the server's own timestamp even to a server
	// that takes check times (see checktime.go).
	ArrivalTimes bool
}

// DefaultInFlight keeps a client at most 8 packets (34 KB) ahead of what
// the server's TCP stack has acknowledged: below a fresh connection's
// receive window, so the nsca daemon never falls into the stalls described
// at the pacer, and still enough to keep it busy. Measured against nsca
// 2.10 on loopback: 8 and 12 never stalled in 16 bursts of 10,000
// results; 16 and more did, and one stalled connection blocks nsca for
// every client.
const DefaultInFlight = 8

// Dial connects to addr ("host:port") and reads the server's init packet.
func (d *Dialer) Dial(ctx context.Context, addr string) (*Conn, error) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	c, err := d.Handshake(ctx, nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nsca server %s: %w", addr, err)
	}
	return c, nil
}

func (d *Dialer) inFlight() int {
	if d.InFlight == 0 {
		return DefaultInFlight
	}
	return max(d.InFlight, 0)
}

// Handshake reads the init packet from an established connection and sets up
// encryption. On error the caller still owns nc.
func (d *Dialer) Handshake(ctx context.Context, nc net.Conn) (*Conn, error) {
	if !d.Method.Implemented() {
		return nil, fmt.Errorf("encryption method %d (%s) is not supported", int(d.Method), d.Method)
	}
	stop := deadlineFromContext(ctx, nc.SetReadDeadline)
	var init [InitPacketSize]byte
	_, err := io.ReadFull(nc, init[:])
	stop()
	nc.SetReadDeadline(time.Time{})
	if err != nil {
		return nil, fmt.Errorf("read init packet: %w", contextError(ctx, err))
	}
	cr, err := newCrypter(d.Method, d.Password, init[:IVSize])
	if err != nil {
		return nil, err
	}
	size := PacketSize
	if d.Legacy {
		size = LegacySize
	}
	noise, err := newNoise()
	if err != nil {
		return nil, err
	}
	ts := binary.BigEndian.Uint32(init[IVSize:])
	marked := ivMarked(init[:IVSize])
	return &Conn{
		nc:         nc,
		marked:     marked,
		checkTimes: !d.ArrivalTimes && marked,
		offset:     clockOffset(time.Unix(int64(ts), 0), time.Now()),
		crypt:      cr,
		timestamp:  ts,
		size:       size,
		buf:        make([]byte, size),
		noise:      noise,
		pace:       newPacer(nc, d.inFlight()*size),
	}, nil
}

// Conn is a client connection that has read its init packet. It is not safe
// for concurrent use: packets share one cipher stream.
type Conn struct {
	nc net.Conn
	// marked: the server is a picket server (checktime.go), which takes
	// probes (probe.go). checkTimes: it takes check times and we send
	// them; offset is its clock minus ours at connect, which a check time
	// is moved by.
	marked     bool
	checkTimes bool
	offset     time.Duration
	crypt      crypter
	timestamp  uint32
	size       int // bytes per packet
	buf        []byte
	noise      cipher.Stream
	pace       *pacer
	sent       int
	closed     bool
}

// ServerTime is the server's clock at connect time, from the init packet.
func (c *Conn) ServerTime() time.Time { return time.Unix(int64(c.timestamp), 0) }

// clockOffset is server minus local, as far as a timestamp in whole seconds
// can tell: within two seconds the clocks agree (the server's stamp is cut
// to the second, and the init packet spent time on the way), so a check
// time is not moved by noise.
func clockOffset(server, local time.Time) time.Duration {
	d := server.Sub(local)
	if d.Abs() < 2*time.Second {
		return 0
	}
	return d.Round(time.Second)
}

// CheckTimes reports whether the server takes each result's check time
// (a picket server), so that packets say when they were checked.
func (c *Conn) CheckTimes() bool { return c.checkTimes }

// ClockOffset is the server's clock minus this host's, as the init packet
// showed it (to the second).
func (c *Conn) ClockOffset() time.Duration { return c.offset }

// Sent is the number of packets written in full on this connection. The
// server never acknowledges, so this is all a client can know.
func (c *Conn) Sent() int { return c.sent }

// Send encrypts and writes one packet, stamped with the server's time from
// the init packet (as send_nsca does, so clock skew cannot make it stale).
// If the write fails or ctx ends part-way, the connection is closed: a
// half-written packet must never stay on an open connection, and the cipher
// stream has moved on anyway.
func (c *Conn) Send(ctx context.Context, p Packet) error {
	_, err := c.SendBatch(ctx, []Packet{p})
	return err
}

// SendBatch is Send for several packets: one deadline for a burst of
// results. It returns how many packets were written in full; on error the
// connection is closed as for Send. A packet that cannot be encoded fails
// the batch before anything is written.
//
// Packets are encrypted and written chunk by chunk, so a cancelled context
// is noticed within one chunk (about 25 ms of 3DES, the slowest cipher) and
// encryption overlaps with the server reading the previous chunk.
func (c *Conn) SendBatch(ctx context.Context, ps []Packet) (int, error) {
	if c.closed {
		return 0, ErrClosed
	}
	size := c.size
	need := size * len(ps)
	if cap(c.buf) < need {
		c.buf = make([]byte, need)
	}
	buf := c.buf[:need]
	c.noise.XORKeyStream(buf, buf)
	for i := range ps {
		p := ps[i]
		p.Timestamp, p.CheckTime = c.timestamp, false
		if c.checkTimes && !p.Checked.IsZero() {
			p.Timestamp, p.CheckTime = uint32(p.Checked.Add(c.offset).Unix()), true
		}
		if err := p.encode(buf[i*size : (i+1)*size]); err != nil {
			return 0, fmt.Errorf("packet %d: %w", i+1, err)
		}
	}
	// Encrypt only once every packet has encoded, so a packet that fails
	// validation leaves the cipher stream untouched.
	stop := deadlineFromContext(ctx, c.nc.SetWriteDeadline)
	defer stop()
	for from := 0; from < len(ps); from += sendChunk {
		if err := ctx.Err(); err != nil {
			c.Close()
			return from, fmt.Errorf("send stopped after %d packets (connection closed): %w", from, context.Cause(ctx))
		}
		to := min(from+sendChunk, len(ps))
		for i := from; i < to; i++ {
			c.crypt.encrypt(buf[i*size:(i+1)*size], 0)
		}
		if n, err := c.write(ctx, buf, from, to); err != nil {
			return n, err
		}
	}
	return len(ps), nil
}

// sendChunk is how many packets SendBatch encrypts before it writes them.
const sendChunk = 32

// write sends the encrypted packets from..to-1 of buf, one write each when
// the pacer allows, and returns how many of the batch are written in full.
func (c *Conn) write(ctx context.Context, buf []byte, from, to int) (int, error) {
	size := c.size
	for i := from; i < to; i++ {
		if err := c.pace.wait(ctx, size); err != nil {
			c.Close()
			return i, fmt.Errorf("wait for the server to read (connection closed): %w", err)
		}
		n, err := c.nc.Write(buf[i*size : (i+1)*size])
		if err != nil {
			c.Close()
			err = contextError(ctx, err)
			return i, fmt.Errorf("write packet (%d of %d bytes written, connection closed): %w", n, size, err)
		}
		c.sent++
	}
	return to, nil
}

// Finish ends the connection: it shuts down the sending side and waits
// until the server has closed its own, which the nsca daemon (and Server)
// does only after reading every packet up to the end of the stream. NSCA
// acknowledges nothing, so this is the one confirmation a client can get
// that its packets were read: without it, a server that dies with packets
// unread says nothing, and packets sent next on a new connection could
// reach Nagios before the end of these (servers read connections side by
// side). The connection is closed afterwards, whatever happened.
func (c *Conn) Finish(ctx context.Context) error {
	if c.closed {
		return ErrClosed
	}
	defer c.Close()
	hc, ok := c.nc.(interface{ CloseWrite() error })
	if !ok {
		return nil // not TCP (a test's pipe): nothing to confirm with
	}
	if err := hc.CloseWrite(); err != nil {
		return fmt.Errorf("end of packets: %w", err)
	}
	stop := deadlineFromContext(ctx, c.nc.SetReadDeadline)
	defer stop()
	var b [64]byte
	for {
		_, err := c.nc.Read(b[:])
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("wait for the server to read every packet: %w", contextError(ctx, err))
		}
		// nsca sends nothing after the init packet; anything else is
		// read and ignored.
	}
}

// Close closes the connection.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.nc.Close()
}

// deadlineFromContext applies ctx's deadline through set and makes ctx's
// cancellation interrupt the blocked call. The returned func undoes both and
// waits for a cancellation already under way, so a late deadline can never
// leak into the next call.
func deadlineFromContext(ctx context.Context, set func(time.Time) error) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		set(d)
	} else {
		set(time.Time{})
	}
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	unregister := context.AfterFunc(ctx, func() {
		set(time.Unix(1, 0))
		close(done)
	})
	return func() {
		if !unregister() {
			<-done
		}
	}
}

// contextError names the context as the cause of err when it is: a deadline
// taken from ctx can fire on the connection a moment before ctx itself
// reports it.
func contextError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return err
}

// newNoise returns the generator for a packet's unused bytes. It must be
// unpredictable, not just varied: with XOR "encryption", plaintext an
// eavesdropper could guess would hand them the password, since the IV
// travels in clear. AES-CTR under a random key is a fast CSPRNG (five
// times ChaCha8's speed here, and this runs for every byte of every
// packet); XORing its keystream into the buffer's old contents is as
// random as writing it.
func newNoise() (cipher.Stream, error) {
	var key, iv [16]byte
	if _, err := crand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("seed packet padding: %w", err)
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewCTR(block, iv[:]), nil
}
