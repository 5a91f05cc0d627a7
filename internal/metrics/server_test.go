package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/nsca"
)

func TestServerCollector(t *testing.T) {
	s := nsca.Stats{Connections: 5, Refused: 1, Packets: 10, LegacyPackets: 3, BadVersion: 2, BadCRC: 4, Stale: 1, ShortPackets: 6, HandshakeFails: 7}
	q := nagios.QueueStats{Written: 9, Dropped: 2, Pending: 1, Errors: 3, Lost: 0}
	c := NewServerCollector(func() nsca.Stats { return s }, func() nagios.QueueStats { return q }, func() uint64 { return 2 })
	want := `
# HELP picket_nsca_connections_total NSCA connections accepted and served.
# TYPE picket_nsca_connections_total counter
picket_nsca_connections_total 5
# HELP picket_nsca_connections_refused_total NSCA connections closed at once because max_connections was reached.
# TYPE picket_nsca_connections_refused_total counter
picket_nsca_connections_refused_total 1
# HELP picket_nsca_handshake_failures_total NSCA connections whose init packet could not be sent.
# TYPE picket_nsca_handshake_failures_total counter
picket_nsca_handshake_failures_total 7
# HELP picket_nsca_packets_total Valid NSCA packets received, by format: v3 (4304 bytes) or legacy (720 bytes).
# TYPE picket_nsca_packets_total counter
picket_nsca_packets_total{format="legacy"} 3
picket_nsca_packets_total{format="v3"} 7
# HELP picket_nsca_packets_rejected_total NSCA packets rejected, by reason: bad_version and bad_crc (often a wrong password or cipher), stale (older than max_packet_age), short (the connection ended inside a packet).
# TYPE picket_nsca_packets_rejected_total counter
picket_nsca_packets_rejected_total{reason="bad_crc"} 4
picket_nsca_packets_rejected_total{reason="bad_version"} 2
picket_nsca_packets_rejected_total{reason="short"} 6
picket_nsca_packets_rejected_total{reason="stale"} 1
# HELP picket_nsca_results_dropped_total Results received but not handed to Nagios: the command file queue was full, or a result file could not be written.
# TYPE picket_nsca_results_dropped_total counter
picket_nsca_results_dropped_total 2
# HELP picket_command_queue_written_total Lines written to Nagios' command file.
# TYPE picket_command_queue_written_total counter
picket_command_queue_written_total 9
# HELP picket_command_queue_refused_total Lines the command file queue refused (full, or stopping).
# TYPE picket_command_queue_refused_total counter
picket_command_queue_refused_total 2
# HELP picket_command_queue_pending Lines queued and not yet written to the command file.
# TYPE picket_command_queue_pending gauge
picket_command_queue_pending 1
# HELP picket_command_queue_write_errors_total Failed attempts to write to the command file (Nagios stopped or restarting).
# TYPE picket_command_queue_write_errors_total counter
picket_command_queue_write_errors_total 3
# HELP picket_command_queue_lost_total Lines queued but not written when the queue stopped.
# TYPE picket_command_queue_lost_total counter
picket_command_queue_lost_total 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
