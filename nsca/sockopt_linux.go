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
	// budget is what may still be written without asking the kernel: the
	// room under limit at the last look, less what was written since.
	budget int
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
// It asks the kernel only when the budget from its last answer is spent:
// one ioctl for a run of packets rather than one each.
func (p *pacer) wait(ctx context.Context, size int) error {
	if p == nil {
		return nil
	}
	if p.budget >= size {
		p.budget -= size
		return nil
	}
	delay := 20 * time.Microsecond
	for {
		room := p.limit // no answer from the kernel: hold nothing back
		p.raw.Control(func(fd uintptr) {
			// Bytes sent but not acknowledged plus bytes not sent yet.
			if outq, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ); err == nil {
				room = p.limit - outq
				if outq == 0 {
					room = max(room, size)
				}
			}
		})
		if room >= size {
			p.budget = room - size
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
