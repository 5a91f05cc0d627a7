package spooler

import (
	"context"

	"github.com/picket-monitoring/picket/nsca"
)

// NSCA adapts an *nsca.Dialer to Dialer. Its connections end each batch
// with nsca's Finish, which confirms that the server has read it: without
// that, packets of the next batch, on a new connection, could reach Nagios
// before the end of this one, and Nagios would take an older result for
// the newer; and a server that died with a batch unread would pass for a
// success.
func NSCA(d *nsca.Dialer) Dialer { return nscaDialer{d} }

type nscaDialer struct{ d *nsca.Dialer }

func (n nscaDialer) Dial(ctx context.Context, addr string) (Conn, error) {
	c, err := n.d.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	return nscaConn{c}, nil
}

type nscaConn struct{ c *nsca.Conn }

// SendBatch writes ps and confirms the server read them; the connection
// carries nothing more.
func (n nscaConn) SendBatch(ctx context.Context, ps []nsca.Packet) (int, error) {
	sent, err := n.c.SendBatch(ctx, ps)
	if err != nil {
		return sent, err
	}
	return sent, n.c.Finish(ctx)
}

func (n nscaConn) Close() error { return n.c.Close() }
