package hub

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/metricstest"
	"github.com/picket-monitoring/picket/nsca"
)

// freeAddr is a 127.0.0.1 address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runServer runs picket server in-process on cfgText ([nsca] on a free
// port) until the test ends, and returns its addresses and its log.
func runServer(t *testing.T, cfgText string) (Addrs, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	cfgText = fmt.Sprintf("state_dir = %q\n", filepath.Join(dir, "state")) + cfgText
	cfg, err := LoadConfig(writeFile(t, dir, "server.toml", cfgText, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan Addrs, 1), make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), func(a Addrs) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case a := <-addrc:
		return a, logs
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return Addrs{}, nil
}

func nscaSection(t *testing.T) string {
	dir := t.TempDir()
	return "[nsca]\nlisten = \"127.0.0.1:0\"\nencryption = \"aes256\"\npassword_file = \"" +
		writeFile(t, dir, "pw", "secret\n", 0o600) + "\"\ncommand_file = \"" + writeFile(t, dir, "nagios.cmd", "", 0o600) + "\"\n"
}

func send(t *testing.T, addr, password string, p nsca.Packet) {
	t.Helper()
	c, err := (&nsca.Dialer{Method: nsca.Rijndael128, Password: []byte(password)}).Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.SendBatch(t.Context(), []nsca.Packet{p}); err != nil {
		t.Fatal(err)
	}
}

// A good packet and one under a wrong password show in the receiver's
// counters, and the result reaches the command file's.
func TestServerMetrics(t *testing.T) {
	addrs, _ := runServer(t, nscaSection(t)+"\n[metrics]\nlisten = \""+freeAddr(t)+"\"\n")
	if addrs.Metrics == nil {
		t.Fatal("no metrics address")
	}
	url := "http://" + addrs.Metrics.String() + "/metrics"
	send(t, addrs.NSCA.String(), "secret", nsca.Packet{Host: "web01", Service: "disk", ReturnCode: 2, Output: "CRIT"})
	send(t, addrs.NSCA.String(), "wrong", nsca.Packet{Host: "web01", Service: "disk", ReturnCode: 0, Output: "OK"})

	metricstest.Wait(t, url, `picket_nsca_packets_total{format="v3"}`, metricstest.Is(1))
	metricstest.Wait(t, url, `picket_command_queue_written_total`, metricstest.Is(1))
	// A wrong password decrypts to garbage: its version or its CRC is
	// wrong, whichever the receiver checks first.
	body := metricstest.WaitFor(t, url, "the packet under a wrong password to be rejected", func(body string) bool {
		v, _ := metricstest.Value(body, `picket_nsca_packets_rejected_total{reason="bad_version"}`)
		c, _ := metricstest.Value(body, `picket_nsca_packets_rejected_total{reason="bad_crc"}`)
		return v+c == 1
	})
	if v, _ := metricstest.Value(body, "picket_nsca_connections_total"); v < 2 {
		t.Errorf("picket_nsca_connections_total = %v, want at least the 2 made", v)
	}
	for _, want := range []string{`picket_nsca_packets_total{format="legacy"} 0`, `picket_nsca_results_dropped_total 0`,
		`picket_nsca_packets_rejected_total{reason="stale"} 0`, "go_goroutines ", "process_"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// A metrics address in use is logged; the receiver serves all the same.
func TestServerMetricsAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addrs, logs := runServer(t, nscaSection(t)+"\n[metrics]\nlisten = \""+ln.Addr().String()+"\"\n")
	if addrs.Metrics != nil || addrs.NSCA == nil {
		t.Fatalf("addresses: %+v", addrs)
	}
	send(t, addrs.NSCA.String(), "secret", nsca.Packet{Host: "web01", Service: "disk", ReturnCode: 0, Output: "OK"})
	if !strings.Contains(logs.String(), "metrics not served") || !strings.Contains(logs.String(), ln.Addr().String()) {
		t.Errorf("log does not say metrics are not served:\n%s", logs.String())
	}
}

// [metrics] off: no address, nothing listening for it.
func TestServerMetricsOff(t *testing.T) {
	addrs, _ := runServer(t, nscaSection(t))
	if addrs.Metrics != nil {
		t.Errorf("metrics served at %s with no [metrics]", addrs.Metrics)
	}
}

func TestServerMetricsConfig(t *testing.T) {
	p := writeFile(t, t.TempDir(), "server.toml", nscaSection(t)+"\n[metrics]\nlisten = \"0.0.0.0:9464\"\n", 0o600)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), `server.toml:8: metrics.listen: "0.0.0.0:9464" is not a loopback address`) {
		t.Errorf("err = %v", err)
	}
}
