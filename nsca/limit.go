package nsca

import (
	"context"
	"log/slog"
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
