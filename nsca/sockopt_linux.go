package nsca

import (
	"context"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A client faster than its server fills the server's receive queue, and a
// Linux receiver whose queue is growing delays its ACKs. Past about 200ms
// the client's retransmission timer fires, its congestion window collapses
// and the connection limps: against the nsca daemon, which reads one packet
// at a time, a burst of 10,000 results took 2 to 10 seconds instead of a
// fifth of one. The pacer keeps the bytes not yet acknowledged under a
// bound, so the client never runs far ahead of what the server has read,
// and ACKs keep flowing.
type pacer struct {
	raw   syscall.RawConn
	limit int
}

func newPacer(c net.Conn, limit int) *pacer {
	tc, ok := c.(*net.TCPConn)
	if !ok || limit <= 0 {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return &pacer{raw: raw, limit: limit}
}

// wait returns once size more bytes fit under the bound, or when ctx ends.
func (p *pacer) wait(ctx context.Context, size int) error {
	if p == nil {
		return nil
	}
	delay := 20 * time.Microsecond
	for {
		ready := true
		p.raw.Control(func(fd uintptr) {
			// Bytes sent but not acknowledged plus bytes not sent yet.
			if outq, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ); err == nil {
				ready = outq == 0 || outq+size <= p.limit
			}
		})
		if ready {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Millisecond)
	}
}
