//go:build unix

package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
)

// Listen listens on the Unix socket at path: its folder is made 0700 when
// it does not exist, a stale socket left by a crash is removed, and the
// socket is 0600. A socket another process still answers on is not taken
// over.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control channel: %w", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("control channel %s: another process listens on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control channel: %w", err)
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control channel: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control channel: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return ln, nil
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

func isNotRunning(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}

type peerKey struct{}

// withPeer records the uid of the process at the other end.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	uid := -1
	if uc, ok := c.(*net.UnixConn); ok {
		uid = peerUID(uc)
	}
	return context.WithValue(ctx, peerKey{}, uid)
}

// peerChecked refuses anyone but the process's own user and root, even
// where the socket's mode would let them in (a folder made by hand).
func peerChecked(h http.Handler, logger *slog.Logger) http.Handler {
	me := os.Geteuid()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uid, _ := r.Context().Value(peerKey{}).(int)
		if uid != me && uid != 0 {
			logger.Warn("control channel: refused a request from another user", "uid", uid)
			WriteError(w, http.StatusForbidden, fmt.Errorf("refused: only the user the agent runs as (uid %d) or root may use its control channel", me))
			return
		}
		h.ServeHTTP(w, r)
	})
}
