package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/plugins"
	"github.com/picket-monitoring/picket/poller"
)

// Benchmarks of the poller and plugin runner against the physical limit:
// how fast this machine can fork and exec a trivial plugin.

// countSink counts results, and those that are neither OK nor a run
// interrupted by the benchmark's end.
type countSink struct {
	n, bad  atomic.Int64
	lastBad atomic.Value
}

func (s *countSink) Put(_ context.Context, r check.Result) error {
	s.n.Add(1)
	if r.State != check.OK && !strings.HasPrefix(r.Output, "check interrupted") {
		s.bad.Add(1)
		s.lastBad.Store(r.Output)
	}
	return nil
}

// dummyChecks are n checks of check_dummy at the given interval.
func dummyChecks(n int, every time.Duration) []check.Check {
	cs := make([]check.Check, n)
	for i := range cs {
		cs[i] = check.Check{
			Host: "bench01", HostAddress: "bench01", Service: fmt.Sprintf("dummy_%05d", i),
			Command: "check_dummy 0 fine", Interval: every, Timeout: 30 * time.Second,
			TimeoutState: check.Critical, MaxAttempts: 1,
		}
	}
	return cs
}

// forkExecRate is the peer: workers goroutines, each running check_dummy
// with its output read, back to back for d. Runs per second.
func forkExecRate(tb testing.TB, workers int, d time.Duration) float64 {
	bin := peer(tb, pluginDir+"/check_dummy")
	var n atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := exec.Command(bin, "0", "fine").Output(); err != nil {
					tb.Errorf("check_dummy: %v", err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// pollerRate runs 3,000 checks at 1s, more than the machine can exec, with
// the given concurrency, and counts completed runs per second over d after
// a warm-up second.
func pollerRate(tb testing.TB, workers int, d time.Duration) float64 {
	sink := &countSink{}
	p := poller.New(poller.Options{
		Runner:      plugins.NewRunner(plugins.Config{Dirs: []string{pluginDir}}),
		Sink:        sink,
		Concurrency: workers,
	})
	if err := p.Apply(dummyChecks(3000, time.Second)); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	time.Sleep(time.Second)
	c0 := p.Stats().Completed
	time.Sleep(d)
	c1 := p.Stats().Completed
	cancel()
	<-done
	if sink.bad.Load() > 0 {
		tb.Fatalf("%d of %d runs were not OK, e.g. %q", sink.bad.Load(), sink.n.Load(), sink.lastBad.Load())
	}
	return float64(c1-c0) / d.Seconds()
}

// BenchmarkPollerThroughput: the poller running check_dummy as fast as its
// schedule allows against a plain fork/exec loop with the same parallelism,
// alternating, in the same run. Target: ratio >= 0.9.
func BenchmarkPollerThroughput(b *testing.B) {
	needE2E(b)
	printMachine(b)
	workers := poller.DefaultConcurrency()
	const window = 5 * time.Second
	var ours, theirs []float64
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			theirs = append(theirs, forkExecRate(b, workers, window))
			ours = append(ours, pollerRate(b, workers, window))
		} else {
			ours = append(ours, pollerRate(b, workers, window))
			theirs = append(theirs, forkExecRate(b, workers, window))
		}
	}
	o, t := median(ours), median(theirs)
	b.ReportMetric(o, "poller_runs/s")
	b.ReportMetric(t, "forkexec_runs/s")
	b.ReportMetric(o/t, "ratio")
	fmt.Printf("poller throughput: %.0f runs/s vs fork/exec loop %.0f runs/s, %d workers: ratio %.2f (target >= 0.9)\n", o, t, workers, o/t)
}

// BenchmarkPollerLateness: 200 checks/s of check_dummy (200 checks at 1s)
// for 10s; p99 of start minus due time. Target: p99 <= 10ms.
func BenchmarkPollerLateness(b *testing.B) {
	needE2E(b)
	printMachine(b)
	var p99s, maxes []time.Duration
	for b.Loop() {
		sink := &countSink{}
		p := poller.New(poller.Options{
			Runner: plugins.NewRunner(plugins.Config{Dirs: []string{pluginDir}}),
			Sink:   sink,
		})
		if err := p.Apply(dummyChecks(200, time.Second)); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		p.Run(ctx)
		cancel()
		st := p.Stats()
		if st.Skipped > 0 || st.Completed < 1800 {
			b.Fatalf("200 checks/s not kept up: %+v", st)
		}
		p99s = append(p99s, st.Lateness.P99)
		maxes = append(maxes, st.Lateness.Max)
	}
	p99 := median(p99s)
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
	fmt.Printf("poller lateness at 200 checks/s: p99 <= %v (histogram bucket bound), max %v (target p99 <= 10ms)\n", p99, median(maxes))
}

// BenchmarkAgentMemory: a real `picket run` with 5,000 checks at 5m sending
// to the real nsca; peak RSS over 20s. Target: <= 40 MB.
func BenchmarkAgentMemory(b *testing.B) {
	printMachine(b)
	var peaks []int64
	for b.Loop() {
		e := newAgentEnv(b)
		var checks strings.Builder
		for i := range 5000 {
			fmt.Fprintf(&checks, "[[check]]\nservice = \"dummy_%05d\"\ncommand = \"check_dummy 0 fine\"\ninterval = \"5m\"\n\n", i)
		}
		e.write(b, checks.String())
		d := e.start(b)
		var peak int64
		for range 20 {
			time.Sleep(time.Second)
			peak = max(peak, procStatusKB(b, d.cmd.Process.Pid, "VmHWM"))
		}
		if n := len(e.results(b)); n < 100 {
			b.Fatalf("only %d services reported in 20s; agent log:\n%s", n, d.Log.String())
		}
		d.Stop()
		peaks = append(peaks, peak)
	}
	mb := float64(median(peaks)) / 1024
	b.ReportMetric(mb, "peak_RSS_MB")
	fmt.Printf("agent memory, 5,000 checks at 5m: peak RSS %.1f MB (target <= 40 MB, %.2f of it)\n", mb, mb/40)
}

// procStatusKB reads a "kB" field of /proc/PID/status.
func procStatusKB(tb testing.TB, pid int, field string) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}
