package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry of its own (never Prometheus' global
// one) holding the Go runtime's and the process's collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// HTTP limits: a scrape is one small GET; nothing legitimate needs long.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = time.Minute
	maxHeaderBytes    = 16 << 10
	// shutdownGrace is how long scrapes in flight get once it stops.
	shutdownGrace = 5 * time.Second
)

// Endpoint is one address serving /metrics. Stop ends it.
type Endpoint struct {
	addr   net.Addr
	cancel context.CancelFunc
	done   chan struct{}
}

// Start opens addr and serves g's metrics on /metrics until ctx ends or
// Stop is called. The error, if any, is from opening addr (in use, not a
// local address), and nothing is left running.
func Start(ctx context.Context, addr string, g prometheus.Gatherer, logger *slog.Logger) (*Endpoint, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       writeTimeout - time.Second,
	}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	ctx, cancel := context.WithCancel(ctx)
	e := &Endpoint{addr: ln.Addr(), cancel: cancel, done: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go func() {
		defer close(e.done)
		select {
		case <-ctx.Done():
		case err := <-served:
			// Serve ends by itself only if accepting failed for good.
			logger.Error("metrics endpoint stopped", "addr", e.addr.String(), "err", err)
			srv.Close()
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics endpoint", "addr", e.addr.String(), "err", err)
		}
	}()
	logger.Info("metrics served", "url", "http://"+e.addr.String()+"/metrics")
	return e, nil
}

// Addr is the address the endpoint listens on.
func (e *Endpoint) Addr() net.Addr { return e.addr }

// Stop closes the endpoint and waits until it has ended. A nil Endpoint
// (metrics off) is fine.
func (e *Endpoint) Stop() {
	if e == nil {
		return
	}
	e.cancel()
	<-e.done
}
