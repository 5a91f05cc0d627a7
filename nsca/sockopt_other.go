//go:build !linux

package nsca

import (
	"context"
	"net"
)

// pacer is a no-op where the kernel's send queue cannot be read; see the
// Linux version for why it exists.
type pacer struct{}

func newPacer(net.Conn, int) *pacer { return nil }

func (p *pacer) wait(context.Context, int) error { return nil }
