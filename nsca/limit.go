package nsca

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// logLimiter keeps a flood of bad packets (a misconfigured fleet, a port
// scanner) from flooding the log, while still saying how much was held back.
type logLimiter struct {
	logger     *slog.Logger
	mu         sync.Mutex
	lim        *rate.Limiter
	suppressed int
}

func newLogLimiter(l *slog.Logger, burst int, every time.Duration) *logLimiter {
	return &logLimiter{logger: l, lim: rate.NewLimiter(rate.Every(every), burst)}
}

func (l *logLimiter) log(level slog.Level, msg string, args ...any) {
	l.mu.Lock()
	if !l.lim.Allow() {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	if l.suppressed > 0 {
		args = append(args, "suppressed_since_last", l.suppressed)
		l.suppressed = 0
	}
	l.mu.Unlock()
	l.logger.Log(context.Background(), level, msg, args...)
}

// sourceLimit counts open connections per source address. The map holds
// only addresses with a connection open, so it is bounded by MaxConns.
type sourceLimit struct {
	max  int // 0: no cap
	mu   sync.Mutex
	open map[string]int
}

func newSourceLimit(perSource, maxConns int) *sourceLimit {
	switch {
	case perSource < 0:
		perSource = 0
	case perSource == 0:
		perSource = max(maxConns/8, 1)
	}
	return &sourceLimit{max: perSource, open: map[string]int{}}
}

// take counts one more connection from src, unless src has max open.
func (l *sourceLimit) take(src string) bool {
	if l.max == 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[src] >= l.max {
		return false
	}
	l.open[src]++
	return true
}

// give counts one connection from src closed.
func (l *sourceLimit) give(src string) {
	if l.max == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[src]--; l.open[src] <= 0 {
		delete(l.open, src)
	}
}

// sourceOf is the address a connection comes from, without its port.
func sourceOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
