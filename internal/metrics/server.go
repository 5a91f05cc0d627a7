package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/nsca"
)

var (
	nscaConnections = desc("picket_nsca_connections_total", "NSCA connections accepted and served.")
	nscaRefused     = desc("picket_nsca_connections_refused_total", "NSCA connections closed at once because max_connections was reached.")
	nscaHandshake   = desc("picket_nsca_handshake_failures_total", "NSCA connections whose init packet could not be sent.")
	nscaPackets     = desc("picket_nsca_packets_total", "Valid NSCA packets received, by format: v3 (4304 bytes) or legacy (720 bytes).", "format")
	nscaRejected    = desc("picket_nsca_packets_rejected_total", "NSCA packets rejected, by reason: bad_version and bad_crc (often a wrong password or cipher), stale (older than max_packet_age), short (the connection ended inside a packet).", "reason")
	nscaDropped     = desc("picket_nsca_results_dropped_total", "Results received but not handed to Nagios: the command file queue was full, or a result file could not be written.")

	queueWritten = desc("picket_command_queue_written_total", "Lines written to Nagios' command file.")
	queueRefused = desc("picket_command_queue_refused_total", "Lines the command file queue refused (full, or stopping).")
	queuePending = desc("picket_command_queue_pending", "Lines queued and not yet written to the command file.")
	queueErrors  = desc("picket_command_queue_write_errors_total", "Failed attempts to write to the command file (Nagios stopped or restarting).")
	queueLost    = desc("picket_command_queue_lost_total", "Lines queued but not written when the queue stopped.")

	serverDescs = []*prometheus.Desc{nscaConnections, nscaRefused, nscaHandshake, nscaPackets, nscaRejected, nscaDropped,
		queueWritten, queueRefused, queuePending, queueErrors, queueLost}
)

// NewServerCollector returns a collector of the NSCA receiver's counters,
// its command file queue's, and the results it dropped, each read on every
// scrape.
func NewServerCollector(receiver func() nsca.Stats, queue func() nagios.QueueStats, dropped func() uint64) prometheus.Collector {
	return &serverCollector{receiver, queue, dropped}
}

type serverCollector struct {
	receiver func() nsca.Stats
	queue    func() nagios.QueueStats
	dropped  func() uint64
}

func (*serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range serverDescs {
		ch <- d
	}
}

func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.receiver()
	ch <- counter(nscaConnections, s.Connections)
	ch <- counter(nscaRefused, s.Refused)
	ch <- counter(nscaHandshake, s.HandshakeFails)
	ch <- counter(nscaPackets, s.Packets-s.LegacyPackets, "v3")
	ch <- counter(nscaPackets, s.LegacyPackets, "legacy")
	ch <- counter(nscaRejected, s.BadVersion, "bad_version")
	ch <- counter(nscaRejected, s.BadCRC, "bad_crc")
	ch <- counter(nscaRejected, s.Stale, "stale")
	ch <- counter(nscaRejected, s.ShortPackets, "short")
	ch <- counter(nscaDropped, c.dropped())
	q := c.queue()
	ch <- counter(queueWritten, q.Written)
	ch <- counter(queueRefused, q.Dropped)
	ch <- gauge(queuePending, float64(q.Pending))
	ch <- counter(queueErrors, q.Errors)
	ch <- counter(queueLost, q.Lost)
}
