//go:build linux

package plugins

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// The containment tests run plugins that start daemons by double fork and
// setsid, and count what is left of them once Run has returned. This test
// process runs them contained by cgroups; TestFallbackContainment runs
// them again in a child test process with the fallback (subreaper and
// sweeps), since the subreaper, once on, stays on for the whole process.

// fallbackEnv tells a child test process to contain runs with the fallback.
const fallbackEnv = "PICKET_TEST_FALLBACK"

func fallbackMode() bool { return os.Getenv(fallbackEnv) == "1" }

// containedRunner returns a Runner with the containment this process
// tests, and fails if that is not the one in use.
func containedRunner(t *testing.T, dir string) *Runner {
	t.Helper()
	r := NewRunner(Config{Dirs: []string{dir}, KillGrace: 300 * time.Millisecond, NoCgroup: fallbackMode()})
	got := r.Containment()
	switch {
	case fallbackMode() && !strings.HasPrefix(got, "subreaper ("):
		t.Fatalf("Containment() = %q, want the subreaper", got)
	case !fallbackMode() && !strings.HasPrefix(got, "cgroup v2 /"):
		if testing.Short() {
			t.Skipf("no cgroup per run here: %s", got)
		}
		t.Fatalf("Containment() = %q: these tests need a cgroup v2 hierarchy where the test may make cgroups "+
			"(run as root, or in a delegated cgroup such as a systemd user session; -short skips)", got)
	}
	return r
}

// daemonReport is what fake_daemon saw while it ran.
type daemonReport struct {
	plugin   int
	cgroup   string
	sleepers []sleeperSeen
	done     time.Time
}

type sleeperSeen struct {
	pid, ppid int
	cgroup    string
}

func readDaemonReport(t *testing.T, path string) daemonReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fake_daemon wrote no report: %v", err)
	}
	var rep daemonReport
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "plugin":
			rep.plugin, _ = strconv.Atoi(f[1])
			rep.cgroup = f[2]
		case len(f) == 4 && f[0] == "sleeper":
			var s sleeperSeen
			s.pid, _ = strconv.Atoi(f[1])
			s.ppid, _ = strconv.Atoi(f[2])
			s.cgroup = f[3]
			rep.sleepers = append(rep.sleepers, s)
		case len(f) == 2 && f[0] == "done":
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			rep.done = time.Unix(0, ns)
		default:
			t.Fatalf("report line %q", line)
		}
	}
	return rep
}

// leftovers lists what is left of a run: live processes with the token in
// their argv, whatever their parent, and zombies of ours among its
// sleepers (reaping them is ours to do). A zombie that init adopted is
// not counted: it is dead, and init's to reap.
func leftovers(t *testing.T, token string, rep daemonReport) (live, zombies []int) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	arg := []byte("\x00-token=" + token + "\x00")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, arg) && alive(pid) {
			live = append(live, pid)
		}
	}
	for _, s := range append([]sleeperSeen{{pid: rep.plugin}}, rep.sleepers...) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
		if err != nil {
			continue
		}
		if p, err := parseStat(b); err == nil && p.zombie() && p.ppid == os.Getpid() {
			zombies = append(zombies, s.pid)
		}
	}
	return live, zombies
}

// checkHeld checks what the containment did while the run went on: in
// the fallback every orphaned sleeper was reparented to this process, not
// to init; with cgroups every sleeper was in the run's own cgroup. After
// the run, that cgroup is gone.
func checkHeld(t *testing.T, r *Runner, rep daemonReport) {
	t.Helper()
	if fallbackMode() {
		for _, s := range rep.sleepers {
			if s.ppid != os.Getpid() {
				t.Errorf("sleeper %d had parent %d, want this process %d (the subreaper)", s.pid, s.ppid, os.Getpid())
			}
		}
		return
	}
	if !strings.Contains(rep.cgroup, "/picket-run-") {
		t.Fatalf("plugin ran in cgroup %q, not a run's own", rep.cgroup)
	}
	for _, s := range rep.sleepers {
		if s.cgroup != rep.cgroup {
			t.Errorf("sleeper %d was in cgroup %q, not the run's %q", s.pid, s.cgroup, rep.cgroup)
		}
	}
	dir := filepath.Join(r.contain.parent, filepath.Base(rep.cgroup))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("run's cgroup %s still there after Run: %v", dir, err)
	}
}

func modeName() string {
	if fallbackMode() {
		return "subreaper"
	}
	return "cgroup"
}

// daemonRun is one run of fake_daemon and what it left.
type daemonRun struct {
	res   check.Result
	rep   daemonReport
	token string
	// took is Run's whole time; stop is from the moment the run had to
	// end (the plugin's answer, its timeout, the cancel) to Run's return.
	took, stop time.Duration
	stopAt     string
}

func runDaemons(t *testing.T, ctx context.Context, r *Runner, mode string, n int, timeout time.Duration, flags string) daemonRun {
	t.Helper()
	d := daemonRun{token: newID()}
	pidfile := filepath.Join(t.TempDir(), "report")
	c := check.Check{
		Command:      fmt.Sprintf("fake_daemon %s %s %s %d%s", mode, pidfile, d.token, n, flags),
		Timeout:      timeout,
		TimeoutState: check.Critical,
	}
	start := time.Now()
	d.res = runGuarded(t, ctx, r, c, timeout+guard)
	end := time.Now()
	d.took = end.Sub(start)
	d.rep = readDaemonReport(t, pidfile)
	if mode == "exit" {
		d.stop, d.stopAt = end.Sub(d.rep.done), "the plugin's answer"
	} else {
		d.stop, d.stopAt = d.took-timeout, "the timeout"
	}
	if len(d.rep.sleepers) != n {
		t.Fatalf("fake_daemon reported %d sleepers, want %d", len(d.rep.sleepers), n)
	}
	t.Cleanup(func() { killLeft(t, d) })
	return d
}

// killLeft kills what a failed test left, by pid, so one failure does not
// leave sleepers for an hour.
func killLeft(t *testing.T, d daemonRun) {
	live, _ := leftovers(t, d.token, d.rep)
	for _, pid := range live {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// assertNoneLeft fails if anything of the run is left, and logs the
// figures the issue asks for.
func assertNoneLeft(t *testing.T, what string, d daemonRun) {
	t.Helper()
	live, zombies := leftovers(t, d.token, d.rep)
	t.Logf("%s, %s: %d daemons: %d processes left (%d zombies unreaped); Run took %v, of which %v after %s",
		modeName(), what, len(d.rep.sleepers), len(live), len(zombies), d.took.Round(time.Millisecond), d.stop.Round(time.Millisecond), d.stopAt)
	if len(live) > 0 || len(zombies) > 0 {
		t.Errorf("left alive %v, zombies of ours %v (plugin %d)", live, zombies, d.rep.plugin)
	}
}

// TestContainDaemon: a plugin that starts a daemon by double fork and
// setsid, then hangs until its timeout or exits at once. Either way
// nothing of it is left when Run returns.
func TestContainDaemon(t *testing.T) {
	dir := pluginDir(t, "fake_daemon", "fake_daemon_mid", "fake_sleeper")
	r := containedRunner(t, dir)
	for _, tt := range []struct {
		mode  string
		state check.State
		out   string
	}{
		{"hang", check.Critical, "check timed out after 1s"},
		{"exit", check.OK, "OK 1 daemons started"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			d := runDaemons(t, context.Background(), r, tt.mode, 1, time.Second, "")
			if d.res.State != tt.state || d.res.Output != tt.out {
				t.Errorf("got %v %q, want %v %q", d.res.State, d.res.Output, tt.state, tt.out)
			}
			checkHeld(t, r, d.rep)
			assertNoneLeft(t, tt.mode, d)
		})
	}
}

// TestContainManyDaemons: 200 double-forked daemons in one run, then the
// plugin exits.
func TestContainManyDaemons(t *testing.T) {
	dir := pluginDir(t, "fake_daemon", "fake_daemon_mid", "fake_sleeper")
	r := containedRunner(t, dir)
	d := runDaemons(t, context.Background(), r, "exit", 200, 2*time.Minute, "")
	if d.res.State != check.OK {
		t.Fatalf("got %v %q", d.res.State, d.res.Output)
	}
	checkHeld(t, r, d.rep)
	assertNoneLeft(t, "exit", d)
}

// TestContainScrubbedDaemon: the daemons start with an empty environment,
// so they carry no marker. A cgroup holds them anyway. In the fallback,
// with no other run going, they are the only orphans of the agent that no
// other run can have started, so this run's sweep kills them.
func TestContainScrubbedDaemon(t *testing.T) {
	dir := pluginDir(t, "fake_daemon", "fake_daemon_mid", "fake_sleeper")
	r := containedRunner(t, dir)
	for _, mode := range []string{"hang", "exit"} {
		t.Run(mode, func(t *testing.T) {
			d := runDaemons(t, context.Background(), r, mode, 3, time.Second, " -scrub")
			checkHeld(t, r, d.rep)
			assertNoneLeft(t, mode+" -scrub", d)
		})
	}
}

// TestContainConcurrentRuns: run B starts daemons (with an empty
// environment, the hardest to tell apart) and hangs; meanwhile run A
// times out. A's end kills nothing of B; B's end kills all of B.
//
// When A's daemons wipe their environment too, the fallback cannot tell
// them from B's: they live on until B, the last run that could have
// started them, ends. They are reparented to the agent meanwhile, never
// to init.
func TestContainConcurrentRuns(t *testing.T) {
	dir := pluginDir(t, "fake_daemon", "fake_daemon_mid", "fake_sleeper")
	r := containedRunner(t, dir)
	for _, aFlags := range []string{"", " -scrub"} {
		t.Run("A"+aFlags, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			bDone := make(chan daemonRun, 1)
			bToken := newID()
			bReport := filepath.Join(t.TempDir(), "report")
			go func() {
				c := check.Check{Command: fmt.Sprintf("fake_daemon hang %s %s 3 -scrub", bReport, bToken), Timeout: time.Hour}
				start := time.Now()
				res := r.Run(ctx, c)
				bDone <- daemonRun{res: res, token: bToken, took: time.Since(start)}
			}()
			waitForFile(t, bReport)
			bRep := readDaemonReport(t, bReport)
			t.Cleanup(func() { killLeft(t, daemonRun{token: bToken, rep: bRep}) })

			a := runDaemons(t, context.Background(), r, "hang", 3, time.Second, aFlags)
			bLive, _ := leftovers(t, bToken, bRep)
			if len(bLive) != 3 || !alive(bRep.plugin) {
				t.Errorf("after A ended, B has %d of 3 daemons alive, plugin alive %v", len(bLive), alive(bRep.plugin))
			}
			aLive, aZombies := leftovers(t, a.token, a.rep)
			t.Logf("%s, A%s ended while B ran: A left %d (%d zombies), B untouched %d of 3", modeName(), aFlags, len(aLive), len(aZombies), len(bLive))
			switch {
			case !fallbackMode() || aFlags == "":
				checkHeld(t, r, a.rep)
				assertNoneLeft(t, "A"+aFlags, a)
			default:
				// What the fallback guarantees here: nothing under init,
				// and none left once B is over (below).
				for _, pid := range aLive {
					if st, _, ok := procStat(pid); ok && st != 'Z' && ppidOf(pid) != os.Getpid() {
						t.Errorf("A's daemon %d is not the agent's child", pid)
					}
				}
			}

			cancel()
			cancelled := time.Now()
			var b daemonRun
			select {
			case b = <-bDone:
			case <-time.After(guard):
				t.Fatal("B did not end after cancel")
			}
			b.stop, b.stopAt = time.Since(cancelled), "the cancel"
			if b.res.State != check.Unknown || !strings.HasPrefix(b.res.Output, "check interrupted") {
				t.Errorf("B: got %v %q", b.res.State, b.res.Output)
			}
			b.rep = bRep
			checkHeld(t, r, b.rep)
			assertNoneLeft(t, "B after cancel", b)
			assertNoneLeft(t, "A"+aFlags+" once B is over", a)
		})
	}
}

// TestFallbackContainment runs the containment tests again in a child test
// process that contains runs with the fallback.
func TestFallbackContainment(t *testing.T) {
	if fallbackMode() {
		t.Skip("this is the child")
	}
	args := []string{"-test.run=^TestContain", "-test.v", "-test.count=1"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), fallbackEnv+"=1")
	out, err := cmd.CombinedOutput()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			t.Log(line)
		}
	}
	if err != nil {
		t.Fatalf("fallback containment tests: %v", err)
	}
}

func ppidOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	p, _ := parseStat(b)
	return p.ppid
}

// TestKillCgroup kills a run's cgroup both ways: through cgroup.kill, and
// as on kernels before 5.14 by signalling every listed process. A plugin
// running as root may have made cgroups below its own; their processes go
// too, and remove takes the cgroups away deepest first.
func TestKillCgroup(t *testing.T) {
	dir := pluginDir(t, "fake_sleeper")
	containedRunner(t, dir)
	if fallbackMode() {
		t.Skip("cgroups are not used in the fallback")
	}
	parent, err := cgroupSupport()
	if err != nil {
		t.Fatal(err)
	}
	for _, useFile := range []bool{true, false} {
		t.Run(fmt.Sprintf("cgroup.kill %v", useFile), func(t *testing.T) {
			cg, err := newRunCgroup(parent)
			if err != nil {
				t.Fatal(err)
			}
			defer cg.remove()
			sub := filepath.Join(cg.dir, "sub")
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			subFD, err := os.Open(sub)
			if err != nil {
				t.Fatal(err)
			}
			defer subFD.Close()
			var cmds []*exec.Cmd
			for _, fd := range []*os.File{cg.fd, subFD} {
				cmd := exec.Command(filepath.Join(dir, "fake_sleeper"))
				cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(fd.Fd())}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds = append(cmds, cmd)
			}
			cg.started()
			if got := cgroupPids(cg.dir); len(got) != 2 {
				t.Fatalf("cgroup lists %v, want the 2 sleepers", got)
			}
			killCgroup(cg.dir, time.Now().Add(guard), useFile)
			b, err := os.ReadFile(filepath.Join(cg.dir, "cgroup.events"))
			if full, perr := populated(b); err != nil || perr != nil || full {
				for _, cmd := range cmds {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
				t.Fatalf("after the kill: populated %v (%v, %v)", full, err, perr)
			}
			for _, cmd := range cmds {
				if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
					t.Errorf("sleeper %d: %v, want killed", cmd.Process.Pid, err)
				}
			}
			if err := cg.remove(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(cg.dir); !os.IsNotExist(err) {
				t.Errorf("%s still there: %v", cg.dir, err)
			}
		})
	}
}
