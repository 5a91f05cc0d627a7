package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWatchLatency: a watched process that dies must reach the NSCA
// receiver's command file within 2 s at p99, while the agent also runs
// 1,000 ordinary checks (check_dummy every minute: 17 forks a second). The
// process is killed 100 times; each time the clock runs from the kill to
// the moment the CRITICAL line appears in the real nsca daemon's command
// file (read every 5 ms), then the process is started again and its OK
// awaited. The peer figure is what a polled check gives: half its interval
// on average, here the 60 s the ordinary checks run at.
func BenchmarkWatchLatency(b *testing.B) {
	needE2E(b)
	printMachine(b)
	const kills = 100
	for b.Loop() {
		e := newAgentEnv(b)
		marker := fmt.Sprintf("picket-bench-watch-%d", time.Now().UnixNano())
		var checks strings.Builder
		for i := range 1000 {
			fmt.Fprintf(&checks, "[[check]]\nservice = \"routine%04d\"\ncommand = \"check_dummy 0 routine\"\ninterval = \"60s\"\n\n", i)
		}
		fmt.Fprintf(&checks, "[[check]]\nservice = \"watched\"\ncommand = \"picket:procs -a %s -c 1:\"\nmode = \"watch\"\ninterval = \"1h\"\n", marker)
		e.write(b, checks.String())
		sleeper := startMarked(b, marker)
		agent := e.start(b)
		tail := &fileTail{path: e.NSCA.CommandFile}
		tail.await(b, ";watched;0;", time.Minute)
		var lat []time.Duration
		for range kills {
			sleeper.Process.Signal(syscall.SIGKILL)
			t0 := time.Now()
			sleeper.Wait()
			tail.await(b, ";watched;2;", 30*time.Second)
			lat = append(lat, time.Since(t0))
			sleeper = startMarked(b, marker)
			tail.await(b, ";watched;0;", 30*time.Second)
		}
		sleeper.Process.Kill()
		sleeper.Wait()
		agent.Stop()
		slices.Sort(lat)
		p50, p99, worst := lat[len(lat)/2], lat[len(lat)*99/100-1], lat[len(lat)-1]
		b.ReportMetric(p99.Seconds(), "p99_s")
		fmt.Printf("watch latency, kill to nsca's command file, %d kills, 1,000 routine checks running: p50 %s p99 %s max %s (target p99 <= 2s: %v); a polled check at 60s: about 30s on average, 60s at worst (%.0fx the p99)\n",
			kills, round(p50), round(p99), round(worst), p99 <= 2*time.Second, (60*time.Second).Seconds()/p99.Seconds())
	}
}

// BenchmarkWatchIdleCPU: what 100 idle watches cost the agent, against the
// same 100 checks polled every second with check_procs (the peer, measured
// in the same run: one check_procs' CPU, times 100 a second).
func BenchmarkWatchIdleCPU(b *testing.B) {
	needE2E(b)
	printMachine(b)
	const watches, seconds = 100, 20
	for b.Loop() {
		idle := agentCPU(b, 0, seconds)
		busy := agentCPU(b, watches, seconds)
		perSecond := (busy - idle) / seconds
		peer := runCost(b, []string{requirePlugin(b, "check_procs"), "-a", "picket-no-such-process", "-c", "1:"}).cpu * watches
		b.ReportMetric(float64(perSecond)/float64(time.Millisecond), "ms_cpu_per_s")
		fmt.Printf("%d idle watches (procs, every 1s): %s of CPU a second (%.2f%% of a core; agent alone %s/s); the same as %d polled check_procs a second: %s of CPU a second (%.0fx)\n",
			watches, round(perSecond), 100*perSecond.Seconds(), round(idle/seconds), watches, round(peer), peer.Seconds()/perSecond.Seconds())
	}
}

// agentCPU runs an agent with n procs watches and nothing else for the
// given seconds and returns its CPU time.
func agentCPU(b *testing.B, n int, seconds int) time.Duration {
	e := newAgentEnv(b)
	var checks strings.Builder
	for i := range n {
		fmt.Fprintf(&checks, "[[check]]\nservice = \"w%03d\"\ncommand = \"picket:procs -a picket-bench-idle-%d -c 0\"\nmode = \"watch\"\ninterval = \"1h\"\n\n", i, i)
	}
	e.write(b, checks.String()+"[[check]]\nservice = \"one\"\ncommand = \"check_dummy 0 one\"\ninterval = \"1h\"\n")
	agent := e.start(b)
	time.Sleep(2 * time.Second) // start-up is not idling
	c0 := processCPU(b, agent.cmd.Process.Pid)
	time.Sleep(time.Duration(seconds) * time.Second)
	c1 := processCPU(b, agent.cmd.Process.Pid)
	agent.Stop()
	return c1 - c0
}

// processCPU is user + system time of pid, from /proc/pid/stat.
func processCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// startMarked starts a sleeper whose command line names marker.
func startMarked(tb testing.TB, marker string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command("/bin/sleep", "3600")
	cmd.Args[0] = marker
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// fileTail reads a growing file from where it last stopped.
type fileTail struct {
	path string
	off  int64
}

// await reads until a new line holds want.
func (f *fileTail) await(tb testing.TB, want string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var pending []byte
	for {
		data, _ := os.ReadFile(f.path)
		if int64(len(data)) > f.off {
			pending = append(pending, data[f.off:]...)
			f.off = int64(len(data))
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				line := pending[:i]
				pending = pending[i+1:]
				if bytes.Contains(line, []byte(want)) {
					f.off -= int64(len(pending)) // read the rest again next time
					return
				}
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: no line with %q within %v", f.path, want, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
