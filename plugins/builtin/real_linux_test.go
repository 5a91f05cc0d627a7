package builtin

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/picket-monitoring/picket/internal/check"
)

// These tests run the checks against this machine: real processes, real
// files, the real root file system, /proc. Figures that move on their own
// (load, free memory) are read before and after the check, and the check's
// must lie between.

const pluginDir = "/usr/lib/nagios/plugins"

func runReal(t *testing.T, name string, args ...string) check.Result {
	t.Helper()
	return runCheck(t, System{StateDir: t.TempDir()}, name, args...)
}

func perfValue(t *testing.T, r check.Result, label string) float64 {
	t.Helper()
	for _, p := range r.Perfdata {
		if p.Label == label {
			return p.Value
		}
	}
	t.Fatalf("no perfdata %q in %q", label, r.PluginOutput())
	return 0
}

// sleepers starts n processes under a name of their own (a symlink to
// sleep, so their comm is that name) with a marker argument, and kills them
// by pid at the end of the test.
func sleepers(t *testing.T, n int) (name, marker string) {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("sleep not found: install Debian's coreutils")
	}
	name = fmt.Sprintf("pkt%06d", rand.IntN(1e6))
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(sleep, link); err != nil {
		t.Fatal(err)
	}
	marker = fmt.Sprintf("3600.%06d", rand.IntN(1e6))
	for range n {
		cmd := exec.Command(link, marker)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	// Wait until the kernel shows them under their new name.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := runReal(t, "procs", "-C", name)
		if perfValue(t, r, "procs") == float64(n) || time.Now().After(deadline) {
			return name, marker
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRealProcs(t *testing.T) {
	name, marker := sleepers(t, 3)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want want
	}{
		{[]string{"-C", name, "-c", "3:3"}, want{check.OK, fmt.Sprintf("PROCS OK - 3 processes with command name '%s'", name), "procs=3;;3:3;0"}},
		{[]string{"-a", regexp.QuoteMeta(marker) + "$", "-w", "2"}, want{check.Warning, "~PROCS WARNING - 3 processes with args", ""}},
		{[]string{"-C", name, "-u", me.Username}, want{check.OK, "~3 processes", ""}},
		{[]string{"-C", name, "-u", me.Uid}, want{check.OK, "~3 processes", ""}},
		{[]string{"-C", name, "-u", "nobody"}, want{check.OK, "~0 processes", ""}},
		{[]string{"-C", name, "-s", "S"}, want{check.OK, "~3 processes", ""}},
		{[]string{"-C", name, "-s", "Z"}, want{check.OK, "~0 processes", ""}},
		{[]string{"-C", name, "-p", strconv.Itoa(os.Getpid())}, want{check.OK, "~3 processes", ""}},
		{[]string{"-C", name + "x", "-c", "1:"}, want{check.Critical, "~0 processes", ""}},
	}
	for _, tt := range tests {
		tt.want.check(t, fmt.Sprint(tt.args), runReal(t, "procs", tt.args...))
	}

	// The same count as check_procs, the plugin procs replaces.
	if testing.Short() {
		return // make unit runs without the peers
	}
	cp := filepath.Join(pluginDir, "check_procs")
	if _, err := os.Stat(cp); err != nil {
		t.Fatalf("%s not found: install Debian's monitoring-plugins-basic", cp)
	}
	out, _ := exec.Command(cp, "-C", name, "-a", marker).Output()
	if !strings.Contains(string(out), "3 processes with command name '"+name+"'") {
		t.Errorf("check_procs counts differently: %s", out)
	}
	all := perfValue(t, runReal(t, "procs"), "procs")
	if all < 4 {
		t.Errorf("all processes: %v", all)
	}
}

func TestRealFiles(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	files := map[string]struct {
		size int
		age  time.Duration
	}{"a.log": {10, time.Hour}, "b.log": {2000, 3 * time.Hour}, "c.txt": {0, time.Minute}}
	for n, f := range files {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, make([]byte, f.size), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-f.age), now.Add(-f.age)); err != nil {
			t.Fatal(err)
		}
	}
	glob := filepath.Join(dir, "*.log")
	want{check.Critical, "~b.log is 3h 0m old and 2.0 KiB CRITICAL", ""}.check(t, "file_age glob",
		runReal(t, "file_age", "-w", "30m", "-c", "2h", "-f", glob))
	want{check.OK, "~a.log is 1h 0m old", ""}.check(t, "file_age one", runReal(t, "file_age", "-w", "2h", "-c", "4h", "-f", filepath.Join(dir, "a.log")))
	want{check.Critical, "~c.txt is 1m 0s old and 0 B CRITICAL", ""}.check(t, "file_age empty", runReal(t, "file_age", "-C", "1", "-f", filepath.Join(dir, "c.txt")))
	want{check.Warning, "~b.log is 2.0 KiB WARNING", ""}.check(t, "file_size glob", runReal(t, "file_size", "-w", "1KB", "-f", glob))
	r := runReal(t, "file_size", "-f", glob)
	if v := perfValue(t, r, "size "+filepath.Join(dir, "b.log")); v != 2000 {
		t.Errorf("size of b.log: %v", v)
	}
	want{check.Critical, "~does not exist", ""}.check(t, "missing", runReal(t, "file_age", "-f", filepath.Join(dir, "none")))
}

func TestRealDiskAgainstStatfs(t *testing.T) {
	var before, after unix.Statfs_t
	if err := unix.Statfs("/", &before); err != nil {
		t.Fatal(err)
	}
	r := runReal(t, "disk", "-w", "0%", "-p", "/")
	if err := unix.Statfs("/", &after); err != nil {
		t.Fatal(err)
	}
	bs := uint64(before.Bsize)
	used := perfValue(t, r, "/")
	lo := float64(min((before.Blocks-before.Bfree)*bs, (after.Blocks-after.Bfree)*bs))
	hi := float64(max((before.Blocks-before.Bfree)*bs, (after.Blocks-after.Bfree)*bs))
	if used < lo || used > hi {
		t.Errorf("used %v, statfs says %v..%v", used, lo, hi)
	}
	if r.State != check.OK || !strings.HasPrefix(r.Output, "DISK OK - / ") {
		t.Errorf("%q", r.PluginOutput())
	}
	// df's Use% is the same figure (rounded up by df).
	out, err := exec.Command("df", "-P", "/").Output()
	if err != nil {
		t.Fatalf("df: %v (install Debian's coreutils)", err)
	}
	f := strings.Fields(strings.Split(strings.TrimSpace(string(out)), "\n")[1])
	dfPct, _ := strconv.Atoi(strings.TrimSuffix(f[4], "%"))
	var ourPct int
	fmt.Sscanf(strings.TrimPrefix(r.Output, "DISK OK - / "), "%d%%", &ourPct)
	if ourPct < dfPct-1 || ourPct > dfPct {
		t.Errorf("picket says %d%% used, df %d%%", ourPct, dfPct)
	}

	all := runReal(t, "disk")
	for _, p := range all.Perfdata {
		if strings.HasPrefix(p.Label, "/proc") || strings.HasPrefix(p.Label, "/sys") {
			t.Errorf("pseudo file system checked: %s", p.Label)
		}
	}
}

// procFields reads a /proc file of "key: value ..." or plain numbers.
func procFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func meminfo(t *testing.T) map[string]float64 {
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(procFile(t, "/proc/meminfo")))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 {
			v, _ := strconv.ParseFloat(f[1], 64)
			m[strings.TrimSuffix(f[0], ":")] = v * 1024
		}
	}
	return m
}

func between(t *testing.T, what string, v, a, b, slack float64) {
	t.Helper()
	if v < math.Min(a, b)-slack || v > math.Max(a, b)+slack {
		t.Errorf("%s = %v, /proc says %v then %v", what, v, a, b)
	}
}

func TestRealLoadMemorySwapUptime(t *testing.T) {
	first := strings.Fields(procFile(t, "/proc/loadavg"))
	r := runReal(t, "load")
	last := strings.Fields(procFile(t, "/proc/loadavg"))
	for i, l := range []string{"load1", "load5", "load15"} {
		a, _ := strconv.ParseFloat(first[i], 64)
		b, _ := strconv.ParseFloat(last[i], 64)
		between(t, l, perfValue(t, r, l), a, b, 0.001)
	}

	m1 := meminfo(t)
	mem := runReal(t, "memory")
	swap := runReal(t, "swap", "-n", "ok")
	m2 := meminfo(t)
	between(t, "memory used", perfValue(t, mem, "memory"), m1["MemTotal"]-m1["MemAvailable"], m2["MemTotal"]-m2["MemAvailable"], 16<<20)
	if m1["SwapTotal"] == 0 {
		want{check.OK, "SWAP OK - no swap space configured", ""}.check(t, "swap", swap)
	} else {
		between(t, "swap free", perfValue(t, swap, "swap"), m1["SwapFree"], m2["SwapFree"], 16<<20)
	}

	up1, _ := strconv.ParseFloat(strings.Fields(procFile(t, "/proc/uptime"))[0], 64)
	up := runReal(t, "uptime")
	up2, _ := strconv.ParseFloat(strings.Fields(procFile(t, "/proc/uptime"))[0], 64)
	between(t, "uptime", perfValue(t, up, "uptime"), up1, up2, 1.5)
}

func TestRealCPU(t *testing.T) {
	r := runReal(t, "cpu", "-t", "200ms", "-w", "101")
	if r.State != check.OK || !strings.HasPrefix(r.Output, "CPU OK - ") {
		t.Errorf("%q", r.PluginOutput())
	}
	for i := range runtime.NumCPU() {
		if v := perfValue(t, r, "cpu"+strconv.Itoa(i)); v < 0 || v > 100 {
			t.Errorf("cpu%d = %v", i, v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	b, _ := Lookup("cpu")
	c, _ := b.New([]string{"-t", "1h"})
	if r := c.Run(ctx, System{}); r.State != check.Unknown || !strings.Contains(r.Output, "interrupted") {
		t.Errorf("cancelled: %q", r.Output)
	}
}

// TestRealServiceWithoutSystemd: on a host where systemd is not PID 1 (this
// one, containers, CI) the check says so plainly; where it is, a unit every
// systemd host runs is found running.
func TestRealService(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		want{check.Unknown, "SERVICE UNKNOWN - no service manager: systemd is not running on this host (no /run/systemd/system), so there are no units to ask about", ""}.
			check(t, "no systemd", runReal(t, "service", "ssh"))
		return
	}
	want{check.OK, "~systemd-journald running", ""}.check(t, "journald", runReal(t, "service", "systemd-journald"))
	want{check.Critical, "~does not exist", ""}.check(t, "missing", runReal(t, "service", "picket-no-such-unit"))
}

func TestRealStateStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := System{StateDir: dir}
	if _, err := s.LoadState("x"); !os.IsNotExist(err) {
		t.Errorf("load before save: %v", err)
	}
	if err := s.SaveState("x", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveState("x", []byte("22")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.LoadState("x"); err != nil || string(b) != "22" {
		t.Errorf("load: %q, %v", b, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state folder: %v, %v", fi, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state folder holds %d files, want 1 (no temporary files left)", len(entries))
	}
	if err := (System{}).SaveState("x", nil); err != ErrNoStateDir {
		t.Errorf("no folder: %v", err)
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tmy\\nproc\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nPid:\t42\nPPid:\t7\nUid:\t1000\t1001\t1000\t1000\n"
	p, ok := parseStatus([]byte(status))
	if !ok || p.Name != "my\nproc" || p.State != "S" || p.PPID != 7 || p.UID != 1001 {
		t.Errorf("%+v, %v", p, ok)
	}
	if _, ok := parseStatus([]byte("Name:\tx\n")); ok {
		t.Error("status without State and Uid accepted")
	}
}
