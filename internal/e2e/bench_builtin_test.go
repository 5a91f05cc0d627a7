package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/plugins/builtin"
)

// BenchmarkBuiltinVsPlugin: each built-in that has a monitoring-plugins
// twin, run as `picket plugin NAME` and as the Debian plugin with the same
// arguments, alternating, in the same run. Per run: wall time from start to
// exit, and CPU time (user + system) from the rusage wait4 returns, which
// includes the children the plugin waited for (check_procs runs ps). The
// in-process figure is one Check.Run without a fork, what a watch pays.
// Ratios are the plugin's cost over picket's: above 1, picket is cheaper.
func BenchmarkBuiltinVsPlugin(b *testing.B) {
	needE2E(b)
	printMachine(b)
	pairs := []struct {
		name string
		args []string
	}{
		{"disk", []string{"-w", "10%", "-c", "5%", "-p", "/"}},
		{"load", []string{"-w", "500,400,300", "-c", "1000,800,600"}},
		{"procs", []string{"-w", "100000", "-c", "200000"}},
		{"swap", []string{"-w", "50%", "-c", "20%", "-n", "ok"}},
	}
	const runs = 10 // per b.Loop iteration and side
	ours := make([][]cost, len(pairs))
	theirs := make([][]cost, len(pairs))
	var start []cost
	for b.Loop() {
		for k, p := range pairs {
			plugin := requirePlugin(b, "check_"+p.name)
			for i := range runs {
				pic := append([]string{picketBin, "plugin", p.name}, p.args...)
				peer := append([]string{plugin}, p.args...)
				if i%2 == 0 {
					ours[k] = append(ours[k], runCost(b, pic))
					theirs[k] = append(theirs[k], runCost(b, peer))
				} else {
					theirs[k] = append(theirs[k], runCost(b, peer))
					ours[k] = append(ours[k], runCost(b, pic))
				}
			}
		}
		for range runs {
			start = append(start, runCost(b, []string{picketBin, "version"}))
		}
	}
	fmt.Printf("built-ins vs %s, medians of %d runs each, alternating (ratio = plugin / picket; > 1: picket cheaper):\n",
		pluginVersion(b), len(start))
	for k, p := range pairs {
		in := inProcess(b, p.name, p.args, 200)
		o, t := medianCost(ours[k]), medianCost(theirs[k])
		wallRatio := float64(t.wall) / float64(o.wall)
		cpuRatio := float64(t.cpu) / float64(o.cpu)
		b.ReportMetric(wallRatio, p.name+"_wall_x")
		b.ReportMetric(cpuRatio, p.name+"_cpu_x")
		fmt.Printf("  %-5s check_%-5s wall %7s cpu %7s | picket plugin %-5s wall %7s cpu %7s | ratio wall %.2f cpu %.2f | in-process wall %7s cpu %7s\n",
			p.name, p.name, round(t.wall), round(t.cpu), p.name, round(o.wall), round(o.cpu), wallRatio, cpuRatio, round(in.wall), round(in.cpu))
	}
	st := medianCost(start)
	fmt.Printf("  picket's own start (picket version, no check): wall %s cpu %s\n", round(st.wall), round(st.cpu))
}

type cost struct{ wall, cpu time.Duration }

// runCost runs argv once and measures it. Any plugin state is fine (load
// may well be high on a busy machine), but the output must be a plugin's.
func runCost(tb testing.TB, argv []string) cost {
	tb.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &out
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	code := cmd.ProcessState.ExitCode()
	if code < 0 || code > 2 || (argv[1] != "version" && !strings.Contains(out.String(), "|")) {
		tb.Fatalf("%v: exit %d, %v, output %q", argv, code, err, out.String())
	}
	return cost{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// inProcess is the cost of one evaluation of an already parsed check,
// measured over n runs with this process's rusage.
func inProcess(tb testing.TB, name string, args []string, n int) cost {
	tb.Helper()
	bi, ok := builtin.Lookup(name)
	if !ok {
		tb.Fatalf("no built-in %s", name)
	}
	c, err := bi.New(args)
	if err != nil {
		tb.Fatal(err)
	}
	sys := builtin.System{}
	ctx := context.Background()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	t0 := time.Now()
	for range n {
		if r := c.Run(ctx, sys); r.State == check.Unknown {
			tb.Fatalf("%s in-process: %s", name, r.Output)
		}
	}
	wall := time.Since(t0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano()-r0.Utime.Nano()) + time.Duration(r1.Stime.Nano()-r0.Stime.Nano())
	return cost{wall: wall / time.Duration(n), cpu: cpu / time.Duration(n)}
}

func medianCost(cs []cost) cost {
	var w, c []time.Duration
	for _, x := range cs {
		w, c = append(w, x.wall), append(c, x.cpu)
	}
	return cost{wall: median(w), cpu: median(c)}
}

func round(d time.Duration) time.Duration {
	if d >= time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// requirePlugin finds a Debian plugin, failing with the package to
// install when it is missing.
func requirePlugin(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(pluginDir, name)
	if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
		tb.Fatalf("%s not found: install Debian's monitoring-plugins-basic (or run .ci/run)", p)
	}
	return p
}

func pluginVersion(tb testing.TB) string {
	out, _ := exec.Command(requirePlugin(tb, "check_disk"), "-V").Output()
	if m := regexp.MustCompile(`\(monitoring-plugins ([^)]+)\)`).FindSubmatch(out); m != nil {
		return "monitoring-plugins " + string(m[1])
	}
	return strings.TrimSpace(string(out))
}
