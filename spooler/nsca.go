package spooler

import (
	"context"
	"time"

	"github.com/picket-monitoring/picket/nsca"
)

// NSCA adapts an *nsca.Dialer to Dialer, the kind of target every NSCA
// server is.
//
// Its connections end each batch with nsca's Finish, which confirms that
// the server has read it: without that, packets of the next batch, on a new
// connection, could reach Nagios before the end of this one, and Nagios
// would take an older result for the newer; and a server that died with a
// batch unread would pass for a success.
//
// A server that takes check times (picket server, see nsca's checktime.go)
// gets each result's own, so Nagios files it when it was checked; any other
// gets the server's clock, as send_nsca sends it, and a result older than
// the replay window says in its output when it was checked.
func NSCA(d *nsca.Dialer) Dialer { return nscaDialer{d} }

type nscaDialer struct{ d *nsca.Dialer }

func (n nscaDialer) Dial(ctx context.Context, addr string) (Conn, error) {
	c, err := n.d.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	max := nsca.MaxOutput
	if n.d.Legacy {
		max = nsca.MaxLegacyOutput
	}
	return nscaConn{c, max}, nil
}

type nscaConn struct {
	c   *nsca.Conn
	max int // output bytes a packet carries
}

// SendBatch writes items and confirms the server read them; the connection
// carries nothing more. NSCA refuses nothing: what is written is settled.
func (n nscaConn) SendBatch(ctx context.Context, items []Item) (int, error) {
	ps := make([]nsca.Packet, len(items))
	for i, it := range items {
		r := it.Result
		out := r.PluginOutput()
		if it.Delay > 0 && !n.c.CheckTimes() {
			out = delayPrefix(it.Delay, r.CheckTime) + out
		}
		ps[i] = nsca.Packet{ReturnCode: int16(r.State), Host: r.Host, Service: r.Service,
			Output: nsca.TruncateOutput(out, n.max), Checked: r.CheckTime}
	}
	sent, err := n.c.SendBatch(ctx, ps)
	if err != nil {
		return sent, err
	}
	return sent, n.c.Finish(ctx)
}

func (n nscaConn) Close() error { return n.c.Close() }

// ClockOffset is the server's clock minus ours, from its init packet.
func (n nscaConn) ClockOffset() time.Duration { return n.c.ClockOffset() }
