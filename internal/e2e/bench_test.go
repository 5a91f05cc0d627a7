package e2e

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/nsca"
)

// The benchmarks of issue-level targets: each measures picket and the peer
// it replaces in the same run, on the same input, and prints the ratio with
// the machine it ran on. Run them with `make bench`.

const benchResults = 10000

// benchRecords are realistic service results: a status line with perfdata,
// spread over 100 hosts.
func benchRecords() []checkResult {
	rs := make([]checkResult, benchResults)
	for i := range rs {
		rs[i] = checkResult{
			Host:    fmt.Sprintf("host%03d.example.com", i%100),
			Service: fmt.Sprintf("disk_%d", i/100),
			RC:      i % 4,
			Output:  fmt.Sprintf("DISK OK - free space: / %d MiB (%d%% inode=97%%) | /=%dB;243497277849;257024904396;0;270552530944", 80000+i, i%100, 12926844928+i),
		}
	}
	return rs
}

// commandBytes is the size of the command-file lines for rs: the expected
// lines with a ten-digit timestamp in place of [T], plus newlines.
func commandBytes(rs []checkResult) int64 {
	var n int64
	for _, l := range lines(rs...) {
		n += int64(len(l) - len("[T]") + len("[1234567890]") + 1)
	}
	return n
}

// startBenchNSCA runs the nsca daemon as it is run in production: debug off.
func startBenchNSCA(tb testing.TB, method int) *nscaDaemon {
	tb.Helper()
	return startNSCA(tb, method, password, "debug=0\n")
}

var machineOnce sync.Once

// printMachine says where the figures come from.
func printMachine(tb testing.TB) {
	machineOnce.Do(func() {
		cpu := "unknown CPU"
		if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
			if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); m != nil {
				cpu = string(m[1])
			}
		}
		kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
		nscaVer := "?"
		// nsca prints its version with its usage and exits non-zero.
		if out, _ := exec.Command(peer(tb, "nsca"), "--help").CombinedOutput(); len(out) > 0 {
			if m := regexp.MustCompile(`Version: (\S+)`).FindSubmatch(out); m != nil {
				nscaVer = string(m[1])
			}
		}
		fmt.Printf("machine: %s, %d cores, Linux %s, %s; peers: Debian nsca/send_nsca %s\n",
			cpu, runtime.NumCPU(), strings.TrimSpace(string(kernel)), runtime.Version(), nscaVer)
	})
}

func median[T cmp.Ordered](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkSendVsSendNSCA: 10,000 results in one connection, XOR, into the
// same real nsca daemon, from send_nsca and from picket send. Each is timed
// from start to exit; runs alternate so neither always goes first. Target:
// picket send is never slower (ratio >= 1.0).
func BenchmarkSendVsSendNSCA(b *testing.B) {
	needE2E(b)
	printMachine(b)
	d := startBenchNSCA(b, 1)
	cfg := sendNSCAConfig(b, 1, password)
	rs := benchRecords()
	in := input(rs...)
	want := commandBytes(rs)
	var theirs, ours []time.Duration
	delivered := int64(0)
	for i := 0; b.Loop(); i++ {
		clients := []string{"send_nsca", "picket send"}
		if i%2 == 1 {
			slices.Reverse(clients)
		}
		for _, c := range clients {
			t0 := time.Now()
			var r procResult
			if c == "send_nsca" {
				r = runSendNSCA(b, d.Port, cfg, in)
			} else {
				r = runPicketSend(b, in, sendArgs(d.Port, cfg)...)
			}
			took := time.Since(t0)
			if r.Code != 0 || !strings.Contains(r.Stdout, sentOK(benchResults)) {
				b.Fatalf("%s: %v", c, r)
			}
			// Let nsca drain before the next client, so each run starts
			// from an idle daemon.
			delivered += want
			waitSize(b, d.CommandFile, delivered, 2*time.Minute)
			if c == "send_nsca" {
				theirs = append(theirs, took)
			} else {
				ours = append(ours, took)
			}
		}
	}
	ratio := float64(median(theirs)) / float64(median(ours))
	b.ReportMetric(ratio, "x_vs_send_nsca")
	b.ReportMetric(float64(benchResults)/median(ours).Seconds(), "picket_results/s")
	b.ReportMetric(float64(benchResults)/median(theirs).Seconds(), "send_nsca_results/s")
	fmt.Printf("send %d results, XOR, one connection, into nsca: send_nsca %v, picket send %v (medians of %d): picket %.1fx faster (target >= 1.0)\n",
		benchResults, median(theirs).Round(time.Millisecond), median(ours).Round(time.Millisecond), len(ours), ratio)
}

// BenchmarkReceiverIntake: the same client hands 10,000 results, encrypted
// in advance and written as one burst over 10 connections, to the real nsca
// daemon and to picket server. Intake is timed from the first to the last
// result landing in the command file, so the client's own speed is out of
// the figure. Targets: picket server at least 3x faster with XOR and 10x
// with method 14 (Rijndael-128).
func BenchmarkReceiverIntake(b *testing.B) {
	needE2E(b)
	printMachine(b)
	for _, m := range []struct {
		name   string
		method nsca.Method
		target float64
	}{{"xor", nsca.XOR, 3}, {"rijndael128", nsca.Rijndael128, 10}} {
		b.Run(m.name, func(b *testing.B) {
			nd := startBenchNSCA(b, int(m.method))
			ps := startPicketServer(b, picketServerConfig{Encryption: strconv.Itoa(int(m.method)), Password: password})
			rs := benchRecords()
			var theirs, ours, theirCPU, ourCPU []time.Duration
			for b.Loop() {
				c0 := cpuTime(b, nd.daemon)
				theirs = append(theirs, intake(b, nd.Addr, nd.CommandFile, m.method, rs))
				theirCPU = append(theirCPU, cpuTime(b, nd.daemon)-c0)
				c0 = cpuTime(b, ps.daemon)
				ours = append(ours, intake(b, ps.Addr, ps.CommandFile, m.method, rs))
				ourCPU = append(ourCPU, cpuTime(b, ps.daemon)-c0)
			}
			ratio := float64(median(theirs)) / float64(median(ours))
			cpuRatio := float64(median(theirCPU)) / float64(median(ourCPU))
			b.ReportMetric(ratio, "x_vs_nsca")
			b.ReportMetric(cpuRatio, "x_cpu_vs_nsca")
			b.ReportMetric(float64(benchResults)/median(ours).Seconds(), "picket_results/s")
			b.ReportMetric(float64(benchResults)/median(theirs).Seconds(), "nsca_results/s")
			fmt.Printf("intake of %d results, %s, %d connections (medians of %d):\n"+
				"  wall, first to last line: nsca %v (%.0f/s), picket server %v (%.0f/s): picket %.1fx faster (target >= %.0f)\n"+
				"  server CPU for the burst:  nsca %v, picket server %v: picket needs %.1fx less\n",
				benchResults, m.name, intakeConns, len(ours),
				median(theirs).Round(time.Millisecond), float64(benchResults)/median(theirs).Seconds(),
				median(ours).Round(time.Millisecond), float64(benchResults)/median(ours).Seconds(), ratio, m.target,
				median(theirCPU).Round(time.Millisecond), median(ourCPU).Round(time.Millisecond), cpuRatio)
		})
	}
}

// intakeConns is how many clients hand over the burst at once, as a central
// server sees many agents flush after an outage. Each connection is paced
// as picket's client always is (nsca.DefaultInFlight), which keeps the nsca
// daemon out of its one-second stalls.
const intakeConns = 10

// intake sends rs to the server at addr over intakeConns connections at
// once, as picket's client sends (encrypting chunk by chunk while it
// writes), and returns the time from the first to the last result
// appearing in its command file. On two cores the clients' encryption
// shares the CPU with the server, so for the slow ciphers the wall clock
// includes much of it; the server's CPU time is the receiver's own cost.
func intake(tb testing.TB, addr, commandFile string, m nsca.Method, rs []checkResult) time.Duration {
	tb.Helper()
	start := fileSize(tb, commandFile)
	pkts := make([]nsca.Packet, len(rs))
	for i, r := range rs {
		pkts[i] = nsca.Packet{Host: r.Host, Service: r.Service, ReturnCode: int16(r.RC), Output: r.Output}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conns := make([]*nsca.Conn, intakeConns)
	for i := range conns {
		c, err := (&nsca.Dialer{Method: m, Password: []byte(password)}).Dial(ctx, addr)
		if err != nil {
			tb.Fatal(err)
		}
		conns[i] = c
	}
	type span struct{ first, last time.Time }
	got := make(chan span, 1)
	want := start + commandBytes(rs)
	go func() {
		var s span
		for ctx.Err() == nil {
			n := fileSize(tb, commandFile)
			now := time.Now()
			if s.first.IsZero() && n > start {
				s.first = now
			}
			if n >= want {
				s.last = now
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		got <- s
	}()
	errs := make(chan error, len(conns))
	per := (len(pkts) + len(conns) - 1) / len(conns)
	for i, c := range conns {
		part := pkts[i*per : min((i+1)*per, len(pkts))]
		go func() {
			_, err := c.SendBatch(ctx, part)
			c.Close()
			errs <- err
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			tb.Fatal(err)
		}
	}
	s := <-got
	if s.last.IsZero() {
		tb.Fatalf("%s: command file did not reach %d bytes", addr, want)
	}
	return s.last.Sub(s.first)
}

// cpuTime is the CPU time a daemon has used so far, in nanoseconds from
// /proc/PID/schedstat (per-thread figures summed), finer than the clock
// ticks of /proc/PID/stat.
func cpuTime(tb testing.TB, d *daemon) time.Duration {
	tb.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", d.cmd.Process.Pid))
	if err != nil || len(tasks) == 0 {
		tb.Fatalf("schedstat of %s: %v", d.Name, err)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that just ended
		}
		ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			tb.Fatalf("%s: %v", t, err)
		}
		total += time.Duration(ns)
	}
	return total
}

func fileSize(tb testing.TB, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Size()
}

// waitSize waits until path holds at least n bytes.
func waitSize(tb testing.TB, path string, n int64, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for fileSize(tb, path) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %d bytes after %v, want %d", path, fileSize(tb, path), limit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
