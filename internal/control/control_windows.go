package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipeSDDL lets SYSTEM, Administrators and the pipe's owner (the account
// the service runs as) in, and nobody else.
const pipeSDDL = "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)"

// Listen listens on the named pipe path (\\.\pipe\NAME) with an ACL that
// admits only SYSTEM, Administrators and the owner.
func Listen(path string) (net.Listener, error) {
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: pipeSDDL})
	if err != nil {
		return nil, fmt.Errorf("control channel %s: %w", path, err)
	}
	return ln, nil
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, path)
}

func isNotRunning(err error) bool {
	return errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, winio.ErrTimeout)
}

func withPeer(ctx context.Context, _ net.Conn) context.Context { return ctx }

// peerChecked trusts the pipe's ACL, which Windows applies at open.
func peerChecked(h http.Handler, _ *slog.Logger) http.Handler { return h }
