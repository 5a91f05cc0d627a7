package e2e

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/picket-monitoring/picket/internal/metricstest"
)

// freeAddr is a 127.0.0.1 address that was free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	return fmt.Sprintf("127.0.0.1:%d", freePort(tb))
}

// TestAgentMetrics: `picket run` with [metrics] serves what its checks
// said and what the real nsca daemon received; SIGHUP moves the endpoint;
// `picket config check` shows the section.
func TestAgentMetrics(t *testing.T) {
	e := newAgentEnv(t)
	listen := freeAddr(t)
	e.Settings = fmt.Sprintf("[metrics]\nlisten = %q\n", listen)
	checks := `
[[check]]
service = "dummy_crit"
command = "check_dummy 2 broken"

[[check]]
service = "dummy_ok"
command = "check_dummy 0 fine"
`
	e.write(t, checks)
	if r := run(t, nil, picketBin, "config", "check", e.Config); r.Code != 0 || !strings.Contains(r.Stdout, "[metrics]\nlisten = \""+listen+"\"\n") {
		t.Errorf("config check does not show [metrics]:\n%v", r)
	}
	d := e.start(t)
	e.waitResult(t, "dummy_crit", is(2, "CRITICAL: broken"))
	e.waitResult(t, "dummy_ok", is(0, "OK: fine"))

	url := "http://" + listen + "/metrics"
	metricstest.Wait(t, url, `picket_check_state{host="agent01",service="dummy_crit"}`, metricstest.Is(2))
	metricstest.Wait(t, url, `picket_check_state{host="agent01",service="dummy_ok"}`, metricstest.Is(0))
	// Every line nsca wrote came from this agent, so the agent counts at
	// least as many sent.
	received := 0
	for _, rs := range e.results(t) {
		received += len(rs)
	}
	cursor := "target." + strings.ReplaceAll(e.NSCA.Addr, ":", "_")
	target := fmt.Sprintf(`{group=%q,target=%q}`, cursor, e.NSCA.Addr)
	_, body := metricstest.Wait(t, url, "picket_target_sent_total"+target, metricstest.AtLeast(float64(received)))
	for _, s := range []struct {
		series string
		ok     func(float64) bool
	}{
		{"picket_target_up" + target, metricstest.Is(1)},
		{fmt.Sprintf("picket_spool_queued{group=%q}", cursor), metricstest.AtLeast(0)},
		{fmt.Sprintf("picket_group_sent_total{group=%q}", cursor), metricstest.AtLeast(float64(received))},
		{`picket_check_runs_total{host="agent01",service="dummy_crit"}`, metricstest.AtLeast(1)},
		{`picket_check_last_duration_seconds{host="agent01",service="dummy_crit"}`, func(v float64) bool { return v > 0 }},
		{"picket_poller_checks", metricstest.Is(2)},
		{"picket_poller_lateness_seconds_count", metricstest.AtLeast(2)},
		{"process_resident_memory_bytes", func(v float64) bool { return v > 0 }},
	} {
		if v, found := metricstest.Value(body, s.series); !found || !s.ok(v) {
			t.Errorf("%s = %v (present: %v)", s.series, v, found)
		}
	}

	moved := freeAddr(t)
	e.Settings = fmt.Sprintf("[metrics]\nlisten = %q\n", moved)
	e.write(t, checks)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	metricstest.Wait(t, "http://"+moved+"/metrics", `picket_check_state{host="agent01",service="dummy_crit"}`, metricstest.Is(2))
	if c, err := net.Dial("tcp", listen); err == nil {
		c.Close()
		t.Errorf("after SIGHUP moved metrics to %s, %s still listens", moved, listen)
	}
}

// TestServerMetrics: `picket server` with [metrics] counts what the real
// send_nsca sent it: packets under the right password, and one under a
// wrong password rejected.
func TestServerMetrics(t *testing.T) {
	needE2E(t)
	listen := freeAddr(t)
	s := startPicketServer(t, picketServerConfig{Encryption: "14", Password: password,
		Extra: fmt.Sprintf("\n[metrics]\nlisten = %q\n", listen)})
	results := standardResults()
	if r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 14, password), input(results...)); r.Code != 0 {
		t.Fatalf("send_nsca: %v", r)
	}
	// send_nsca cannot tell: NSCA never answers.
	if r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 14, "not-the-password"), input(results[0])); r.Code != 0 {
		t.Fatalf("send_nsca with a wrong password: %v", r)
	}
	waitResults(t, "command file", s.CommandFile, results...)

	url := "http://" + listen + "/metrics"
	n := float64(len(results))
	metricstest.Wait(t, url, `picket_nsca_packets_total{format="v3"}`, metricstest.Is(n))
	metricstest.Wait(t, url, "picket_command_queue_written_total", metricstest.Is(n))
	// A wrong password decrypts to garbage: its version or its CRC is
	// wrong, whichever the receiver checks first.
	body := metricstest.WaitFor(t, url, "the packet under a wrong password to be rejected", func(body string) bool {
		v, _ := metricstest.Value(body, `picket_nsca_packets_rejected_total{reason="bad_version"}`)
		c, _ := metricstest.Value(body, `picket_nsca_packets_rejected_total{reason="bad_crc"}`)
		return v+c == 1
	})
	for _, want := range []string{`picket_nsca_packets_total{format="legacy"} 0`, "picket_nsca_results_dropped_total 0", "picket_command_queue_pending 0"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
