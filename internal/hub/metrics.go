package hub

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/metrics"
	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/nsca"
)

// serverMetrics is picket server's Prometheus side; nil when [metrics] is
// off, and every method is then a no-op.
type serverMetrics struct {
	reg *prometheus.Registry
	ep  *metrics.Endpoint
}

func newServerMetrics(c config.Metrics) *serverMetrics {
	if !c.On() {
		return nil
	}
	return &serverMetrics{reg: metrics.NewRegistry()}
}

// addNSCA exposes the receiver's counters, its command file queue's and
// the results it dropped.
func (m *serverMetrics) addNSCA(srv *nsca.Server, q *nagios.Queue, drops *dropLedger) {
	if m == nil {
		return
	}
	m.reg.MustRegister(metrics.NewServerCollector(srv.Stats, q.Stats, func() uint64 {
		_, total := drops.recent(time.Now())
		return total
	}))
}

// start serves the metrics until ctx ends or stop. An address that cannot
// be opened is logged, and the server runs on without metrics: they must
// never keep results from Nagios.
func (m *serverMetrics) start(ctx context.Context, c config.Metrics, logger *slog.Logger) net.Addr {
	if m == nil {
		return nil
	}
	ep, err := metrics.Start(ctx, c.Listen, m.reg, logger.With("component", "metrics"))
	if err != nil {
		logger.Error("picket server: metrics not served; running on without them", "err", err)
		return nil
	}
	m.ep = ep
	return ep.Addr()
}

func (m *serverMetrics) stop() {
	if m != nil {
		m.ep.Stop()
	}
}
