package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/spool"
)

// Draining a backlog: a real `picket run` (no checks of its own) starts
// with results already in its spool and sends them to a receiver.

// backlog is n results in the agent's codec for 1,000 services (10 hosts
// of 100, an agent watching a few hosts), checked within the last
// second (so the replay policy sends them as they are) a microsecond apart
// (so none is older than one sent before it for the same service), and
// the send_nsca records that say the same, for the peer.
func backlog(n int) (recs [][]byte, peer []checkResult) {
	start := time.Now().Add(-time.Duration(n) * time.Microsecond)
	recs = make([][]byte, n)
	peer = make([]checkResult, n)
	for i := range n {
		out := fmt.Sprintf("DISK OK - free space: / %d MiB (%d%% inode=97%%) | /=%dB;243497277849;257024904396;0;270552530944",
			80000+i, i%100, 12926844928+i)
		o, long, perf, _ := check.ParsePluginOutput(out)
		r := check.Result{Host: fmt.Sprintf("host%02d.example.com", i%10), Service: fmt.Sprintf("disk_%d", i/10%100),
			State: check.State(i % 4), ExitCode: i % 4, Output: o, LongOutput: long, Perfdata: perf, CheckTime: start.Add(time.Duration(i) * time.Microsecond)}
		recs[i], _ = r.MarshalBinary()
		peer[i] = checkResult{Host: r.Host, Service: r.Service, RC: i % 4, Output: r.PluginOutput()}
	}
	return recs, peer
}

// fillSpool appends recs to a new spool in dir/spool.
func fillSpool(tb testing.TB, dir string, recs [][]byte) {
	tb.Helper()
	s, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{MaxBytes: 1 << 30})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < len(recs); i += 1000 {
		if _, err := s.Append(context.Background(), recs[i:min(i+1000, len(recs))]...); err != nil {
			tb.Fatal(err)
		}
	}
}

// drainAgent writes a config with no checks and no self-reports sending to
// addr, with its spool in dir, and starts `picket run`.
func drainAgent(tb testing.TB, dir, addr, encryption, secret string) *daemon {
	tb.Helper()
	cfg := filepath.Join(dir, "picket.toml")
	writeFile(tb, cfg, fmt.Sprintf(`hostname = "bench"
spool_dir = %q
state_dir = %q

[spool]
max_bytes = "1GiB"

[health]
enabled = false

[[target]]
address = %q
encryption = %q
password_file = %q
`, filepath.Join(dir, "spool"), filepath.Join(dir, "state"), addr, encryption, secret), 0o600)
	return startProcess(tb, "picket run", picketBin, "run", "--config", cfg)
}

// BenchmarkDrainVsSendNSCA: 100,000 backlogged results into the real nsca
// daemon, XOR, from picket run's spool and from send_nsca reading the same
// results from a file; each timed from process start until the daemon has
// written the last command-file line. The daemon is the limit, so the
// target is a ratio >= 1.0. The same backlog into picket server is
// reported as a rate.
func BenchmarkDrainVsSendNSCA(b *testing.B) {
	needE2E(b)
	printMachine(b)
	const n = 100_000
	recs, rs := backlog(n)
	want := commandBytes(rs)
	in := input(rs...)
	sendCfg := sendNSCAConfig(b, 1, password)
	var peerT, picketT, serverT []time.Duration
	for i := 0; b.Loop(); i++ {
		secret := writeFile(b, filepath.Join(b.TempDir(), "pw"), password, 0o600)
		drain := func() time.Duration {
			d := startBenchNSCA(b, 1)
			dir := b.TempDir()
			fillSpool(b, dir, recs)
			start := time.Now()
			a := drainAgent(b, dir, d.Addr, "xor", secret)
			waitSize(b, d.CommandFile, want, 5*time.Minute)
			el := time.Since(start)
			a.Stop()
			d.Stop()
			return el
		}
		peer := func() time.Duration {
			d := startBenchNSCA(b, 1)
			start := time.Now()
			if r := runSendNSCA(b, d.Port, sendCfg, in, "-to", "600"); r.Code != 0 {
				b.Fatalf("send_nsca: %v", r)
			}
			waitSize(b, d.CommandFile, want, 5*time.Minute)
			el := time.Since(start)
			d.Stop()
			return el
		}
		// Alternate which goes first, so neither always meets a cold cache.
		if i%2 == 0 {
			picketT = append(picketT, drain())
			peerT = append(peerT, peer())
		} else {
			peerT = append(peerT, peer())
			picketT = append(picketT, drain())
		}
		s := startPicketServer(b, picketServerConfig{Encryption: "1", Password: password})
		dir := b.TempDir()
		fillSpool(b, dir, recs)
		start := time.Now()
		a := drainAgent(b, dir, s.Addr, "xor", secret)
		waitSize(b, s.CommandFile, want, 5*time.Minute)
		serverT = append(serverT, time.Since(start))
		a.Stop()
		s.Stop()
	}
	p, q, sv := median(peerT), median(picketT), median(serverT)
	ratio := float64(p) / float64(q)
	b.ReportMetric(ratio, "ratio")
	fmt.Printf("drain 100,000 into nsca (XOR): send_nsca %v (%.0f/s), picket run %v (%.0f/s): ratio %.2f (target >= 1.0)\n",
		p.Round(time.Millisecond), n/p.Seconds(), q.Round(time.Millisecond), n/q.Seconds(), ratio)
	fmt.Printf("drain 100,000 into picket server (XOR): %v (%.0f/s)\n", sv.Round(time.Millisecond), n/sv.Seconds())
}

// BenchmarkDrainMemory: a real picket run starts with 1,000,000 results in
// its spool and its target down; once it has settled, the target (picket
// server) comes up and the agent's RSS is sampled until everything has
// arrived. Target: it grows by no more than 10 MB.
func BenchmarkDrainMemory(b *testing.B) {
	needE2E(b)
	printMachine(b)
	const n = 1_000_000
	recs, rs := backlog(n)
	want := commandBytes(rs)
	var growths []int64
	for b.Loop() {
		dir := b.TempDir()
		fillSpool(b, dir, recs)
		secret := writeFile(b, filepath.Join(dir, "pw"), password, 0o600)
		port := freePort(b)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		a := drainAgent(b, dir, addr, "xor", secret)
		waitLog(b, a, "agent started")
		time.Sleep(3 * time.Second)
		base := procStatusKB(b, a.cmd.Process.Pid, "VmRSS")

		sdir := b.TempDir()
		cf := emptyCommandFile(b, sdir)
		pw := writeFile(b, filepath.Join(sdir, "pw"), password, 0o600)
		cfg := writeFile(b, filepath.Join(sdir, "server.toml"), fmt.Sprintf(
			"state_dir = %q\n\n[nsca]\nlisten = %q\nencryption = \"1\"\npassword_file = %q\ncommand_file = %q\n", filepath.Join(sdir, "state"), addr, pw, cf), 0o600)
		s := startProcess(b, "picket server", picketBin, "server", "--config", cfg)
		var peak int64
		deadline := time.Now().Add(10 * time.Minute)
		for fileSize(b, cf) < want {
			peak = max(peak, procStatusKB(b, a.cmd.Process.Pid, "VmRSS"))
			if time.Now().After(deadline) {
				b.Fatalf("drain of 1,000,000 unfinished after 10m; agent log:\n%s", tail(a.Log.String(), 2000))
			}
			time.Sleep(50 * time.Millisecond)
		}
		a.Stop()
		s.Stop()
		growths = append(growths, peak-base)
		fmt.Printf("drain 1,000,000: agent RSS %d kB before, peak %d kB during\n", base, peak)
	}
	g := float64(median(growths)) / 1024
	b.ReportMetric(g, "RSS_growth_MB")
	fmt.Printf("drain memory, 1,000,000 backlogged results: RSS grew %.1f MB (target <= 10 MB)\n", g)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
