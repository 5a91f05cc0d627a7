package spooler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/picket-monitoring/picket/nsca"
)

// NSCA adapts an *nsca.Dialer to Dialer.
//
// Its connections end each batch by confirming that the server has read
// it: they shut down their sending side and wait for the server to close
// its own, which nsca (and nsca.Server) does only after reading every
// packet up to the end of the stream. Without that, packets of the next
// batch, on a new connection, could reach Nagios before the end of this
// one (nsca serves connections side by side, and so does nsca.Server),
// and Nagios would take an older result for the newer. It also turns a
// server that dies with a batch unread into an error, where nsca would
// otherwise say nothing.
func NSCA(d *nsca.Dialer) Dialer { return nscaDialer{d} }

type nscaDialer struct{ d *nsca.Dialer }

func (n nscaDialer) Dial(ctx context.Context, addr string) (Conn, error) {
	timeout := n.d.Timeout
	if timeout <= 0 {
		timeout = nsca.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	c, err := n.d.Handshake(ctx, nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nsca server %s: %w", addr, err)
	}
	return nscaConn{c: c, nc: nc}, nil
}

// chunk is how many packets go to nsca's SendBatch at a time. nsca
// encrypts a whole batch before writing any of it and does not look at the
// context meanwhile: 32 packets are about 25 ms of 3DES here, so a
// shutdown never waits longer than that for a batch to notice, and
// encryption overlaps with the server reading the previous chunk.
const chunk = 32

type nscaConn struct {
	c  *nsca.Conn
	nc net.Conn
}

// SendBatch writes ps and then confirms the server read them; the
// connection carries nothing more.
func (n nscaConn) SendBatch(ctx context.Context, ps []nsca.Packet) (int, error) {
	sent := 0
	for len(ps) > 0 {
		if err := ctx.Err(); err != nil {
			n.c.Close()
			return sent, fmt.Errorf("send stopped after %d packets: %w", sent, context.Cause(ctx))
		}
		k, err := n.c.SendBatch(ctx, ps[:min(chunk, len(ps))])
		sent += k
		if err != nil {
			return sent, err
		}
		ps = ps[k:]
	}
	if err := n.finish(ctx); err != nil {
		return sent, err
	}
	return sent, nil
}

// finish half-closes the connection and waits for the server to close its
// side, or for ctx to end.
func (n nscaConn) finish(ctx context.Context) error {
	hc, ok := n.nc.(interface{ CloseWrite() error })
	if !ok {
		return nil // not TCP (a test's wrapper): nothing to confirm with
	}
	if err := hc.CloseWrite(); err != nil {
		n.c.Close()
		return fmt.Errorf("end of batch: %w", err)
	}
	if d, ok := ctx.Deadline(); ok {
		n.nc.SetReadDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { n.nc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var b [64]byte
	for {
		_, err := n.nc.Read(b[:])
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			n.c.Close()
			return fmt.Errorf("wait for the server to read the batch: %w", ctxError(ctx, err))
		}
		// nsca sends nothing after the init packet; anything else is
		// read and ignored.
	}
}

func (n nscaConn) Close() error { return n.c.Close() }

// ctxError names the context as the cause of err when it is: a deadline
// taken from ctx can fire on the socket a moment before ctx reports it.
func ctxError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return err
}
