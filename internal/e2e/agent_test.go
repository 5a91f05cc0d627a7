package e2e

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The agent (`picket run`, `picket check`, `picket config check`) running
// Debian's monitoring plugins and sending to the real nsca daemon.

const pluginDir = "/usr/lib/nagios/plugins"

// agentEnv is a temp dir with an agent config sending to a real nsca.
type agentEnv struct {
	Dir, DropIns, Config, Secret string
	NSCA                         *nscaDaemon
	// Targets replaces the [[target]] sending to NSCA when set.
	Targets string
	// Settings go at the top of the file, e.g. a [spool] table.
	Settings string
	// Host is the agent's host name; empty means agent01.
	Host string
}

func newAgentEnv(tb testing.TB) *agentEnv {
	tb.Helper()
	needE2E(tb)
	peer(tb, pluginDir+"/check_dummy")
	e := &agentEnv{Dir: tb.TempDir()}
	e.DropIns = filepath.Join(e.Dir, "plugins.d")
	if err := os.Mkdir(e.DropIns, 0o755); err != nil {
		tb.Fatal(err)
	}
	e.Secret = writeFile(tb, filepath.Join(e.Dir, "nsca.secret"), "agent-pw\n", 0o600)
	e.NSCA = startNSCA(tb, 1, "agent-pw")
	e.Config = filepath.Join(e.Dir, "picket.toml")
	return e
}

// write (re)writes the agent config with the given [[check]] tables.
func (e *agentEnv) write(tb testing.TB, checks string) {
	tb.Helper()
	targets := e.Targets
	if targets == "" {
		targets = e.target(e.NSCA.Addr, "")
	}
	writeFile(tb, e.Config, fmt.Sprintf(`hostname = %q
plugin_dirs = [%q, %q]
spool_dir = %q
state_dir = %q
kill_grace = "1s"

%s

%s

[health]
interval = "10s"

[defaults]
interval = "1s"
max_attempts = 1

%s`, cmp.Or(e.Host, "agent01"), pluginDir, e.DropIns, filepath.Join(e.Dir, "spool"), filepath.Join(e.Dir, "state"), e.Settings, targets, checks), 0o600)
}

// target renders a [[target]] table for addr, in group if not empty.
func (e *agentEnv) target(addr, group string) string {
	t := fmt.Sprintf("[[target]]\naddress = %q\nencryption = \"xor\"\npassword_file = %q\ntimeout = \"2s\"\n", addr, e.Secret)
	if group != "" {
		t += fmt.Sprintf("group = %q\n", group)
	}
	return t
}

func (e *agentEnv) start(tb testing.TB) *daemon {
	tb.Helper()
	d := startProcess(tb, "picket run", picketBin, "run", "--config", e.Config, "--log-level", "debug")
	waitLog(tb, d, "agent started")
	return d
}

// received is one result as nsca wrote it into the command file.
type received struct {
	RC     int
	Output string
}

// results reads the command file into results per service of agent01.
func (e *agentEnv) results(tb testing.TB) map[string][]received {
	tb.Helper()
	return readResults(tb, e.NSCA.CommandFile)
}

// readResults reads a command file nsca wrote into results per service
// of agent01; the agent's host results are service "".
func readResults(tb testing.TB, commandFile string) map[string][]received {
	tb.Helper()
	data, err := os.ReadFile(commandFile)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]received{}
	for _, l := range splitLines(data) {
		_, cmd, _ := strings.Cut(l, "] ")
		if rest, ok := strings.CutPrefix(cmd, "PROCESS_HOST_CHECK_RESULT;"); ok {
			// The same fields as a service's, with an empty service.
			cmd = "PROCESS_SERVICE_CHECK_RESULT;" + strings.Replace(rest, ";", ";;", 1)
		}
		f := strings.SplitN(cmd, ";", 5)
		if len(f) != 5 || f[0] != "PROCESS_SERVICE_CHECK_RESULT" || f[1] != "agent01" {
			tb.Fatalf("unexpected command-file line %q", l)
		}
		rc, _ := strconv.Atoi(f[3])
		out[f[2]] = append(out[f[2]], received{rc, f[4]})
	}
	return out
}

// waitResult waits until service has a result that ok accepts.
func (e *agentEnv) waitResult(tb testing.TB, service string, ok func(received) bool) received {
	tb.Helper()
	deadline := time.Now().Add(pollDeadline)
	for {
		for _, r := range e.results(tb)[service] {
			if ok(r) {
				return r
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no matching result for %s within %v; got %+v", service, pollDeadline, e.results(tb)[service])
		}
		time.Sleep(pollEvery)
	}
}

func is(rc int, prefix string) func(received) bool {
	return func(r received) bool { return r.RC == rc && strings.HasPrefix(r.Output, prefix) }
}

func TestAgentRunsRealPluginsIntoNSCA(t *testing.T) {
	e := newAgentEnv(t)
	for _, p := range []string{"check_load", "check_disk", "check_procs"} {
		peer(t, pluginDir+"/"+p)
	}
	e.write(t, `
[[check]]
service = "dummy_ok"
command = "check_dummy 0 'all good here'"

[[check]]
service = "dummy_crit"
command = "$USER1$/check_dummy 2 broken"

[[check]]
service = "load"
command = "check_load -w 1000,1000,1000 -c 2000,2000,2000"

[[check]]
service = "disk"
command = "check_disk -w 0 -c 0 -p /"

[[check]]
service = "procs"
command = "check_procs -w 100000 -c 200000"

[[check]]
service = "missing"
command = "check_does_not_exist -x"

[[check]]
service = "hung"
command = "sleep 30"
shell = true
timeout = "1s"
interval = "5s"
`)
	e.start(t)
	e.waitResult(t, "dummy_ok", is(0, "OK: all good here"))
	e.waitResult(t, "dummy_crit", is(2, "CRITICAL: broken"))
	e.waitResult(t, "load", is(0, "LOAD OK - total load average"))
	e.waitResult(t, "disk", func(r received) bool { return strings.HasPrefix(r.Output, "DISK ") && strings.Contains(r.Output, "|") })
	e.waitResult(t, "procs", is(0, "PROCS OK"))
	r := e.waitResult(t, "missing", is(3, ""))
	if !strings.Contains(r.Output, "check_does_not_exist") || !strings.Contains(r.Output, e.DropIns) {
		t.Errorf("missing plugin: output %q should name the plugin and where it was searched", r.Output)
	}
	e.waitResult(t, "hung", is(2, "check timed out after 1s"))
	// The agent reports on itself too. The hung check is due every 5s
	// and each run ends at 1s, so nothing is skipped.
	r = e.waitResult(t, "picket_poller", is(0, "POLLER OK - 7 checks"))
	if !strings.Contains(r.Output, "| checks=7 ") {
		t.Errorf("picket_poller without perfdata: %q", r.Output)
	}
}

func TestAgentPicksUpDroppedInPluginAndReloads(t *testing.T) {
	e := newAgentEnv(t)
	e.write(t, `
[[check]]
service = "dropin"
command = "check_dropin"

[[check]]
service = "gone_after_reload"
command = "check_dummy 1 'still here'"
`)
	d := e.start(t)
	e.waitResult(t, "dropin", is(3, ""))
	writeFile(t, filepath.Join(e.DropIns, "check_dropin"), "#!/bin/sh\necho \"DROPIN OK - arrived | x=1\"\n", 0o755)
	e.waitResult(t, "dropin", is(0, "DROPIN OK - arrived | x=1"))

	// A reload adds and removes checks without a restart.
	e.write(t, `
[[check]]
service = "dropin"
command = "check_dropin"

[[check]]
service = "added_by_reload"
command = "check_dummy 0 'new check'"
`)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, d, "config reloaded")
	e.waitResult(t, "added_by_reload", is(0, "OK: new check"))
	before := len(e.results(t)["gone_after_reload"])
	n := len(e.results(t)["added_by_reload"])
	// Three more runs of the new check are time for one of the removed.
	e.waitResult(t, "added_by_reload", func(received) bool { return len(e.results(t)["added_by_reload"]) >= n+3 })
	if after := len(e.results(t)["gone_after_reload"]); after > before+1 {
		t.Errorf("removed check kept running: %d results before, %d after", before, after)
	}

	// A broken config changes nothing: the error names file and line, the
	// checks go on.
	writeFile(t, e.Config, "hostname = \"agent01\"\n[[check]]\nservice = \"x\"\nintrval = \"1m\"\n", 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	line := waitLog(t, d, "config reload failed")
	if !strings.Contains(line, e.Config+":4: check.intrval: unknown key") {
		t.Errorf("reload error does not name file, line and key: %s", line)
	}
	n = len(e.results(t)["added_by_reload"])
	e.waitResult(t, "added_by_reload", func(received) bool { return len(e.results(t)["added_by_reload"]) > n })
}

func TestAgentStopKillsRunningPluginsAndReportsThem(t *testing.T) {
	e := newAgentEnv(t)
	marker := filepath.Join(e.Dir, "running")
	// "$$$$" is the shell's "$$" after macro expansion: the plugin
	// writes its pid, then becomes a long sleep.
	e.write(t, fmt.Sprintf(`
[[check]]
service = "long"
command = "echo $$$$ > %s; exec sleep 317"
shell = true
timeout = "5m"
`, marker))
	d := e.start(t)
	deadline := time.Now().Add(pollDeadline)
	var pid int
	for pid == 0 {
		if b, err := os.ReadFile(marker); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			t.Fatal("the long plugin never started")
		}
		time.Sleep(pollEvery)
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(pollDeadline):
		t.Fatalf("agent did not stop on SIGTERM; log:\n%s", d.Log.String())
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("agent exit code %d on SIGTERM, want 0; log:\n%s", code, d.Log.String())
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("plugin process %d survived the agent", pid)
	}
	r := e.waitResult(t, "long", is(3, "check interrupted"))
	if !strings.Contains(r.Output, "agent stopping") {
		t.Errorf("interrupted result %q does not say why", r.Output)
	}
}

// picket check runs the real plugins once and answers like a plugin.
func TestPicketCheckRealPlugins(t *testing.T) {
	e := newAgentEnv(t)
	e.write(t, `
[[check]]
service = "dummy_warn"
command = "check_dummy 1 'a warning'"

[[check]]
service = "load"
command = "check_load -w 1000,1000,1000 -c 2000,2000,2000"

[[check]]
service = "procs"
command = "check_procs -w 100000 -c 200000"

[[check]]
service = "disk"
command = "check_disk -w 0 -c 0 -p /"
`)
	r := run(t, nil, picketBin, "check", "--config", e.Config, "--json")
	if r.Code != 1 {
		t.Errorf("exit %d, want 1 (worst state WARNING)\n%v", r.Code, r)
	}
	got := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(r.Stdout))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		got[m["service"].(string)] = m
	}
	if len(got) != 4 {
		t.Fatalf("want 4 results, got %d:\n%s", len(got), r.Stdout)
	}
	w := got["dummy_warn"]
	if w["host"] != "agent01" || w["state"] != "WARNING" || w["exit_code"] != 1.0 || w["output"] != "WARNING: a warning" {
		t.Errorf("dummy_warn = %v", w)
	}
	if _, ok := w["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms missing: %v", w)
	}
	if l := got["load"]; l["state"] != "OK" || !strings.Contains(l["perfdata"].(string), "load1=") {
		t.Errorf("load = %v", l)
	}
	if d := got["disk"]; !strings.HasPrefix(d["output"].(string), "DISK ") || d["perfdata"] == "" {
		t.Errorf("disk = %v", d)
	}

	r = run(t, nil, picketBin, "check", "--config", e.Config, "load", "procs")
	if r.Code != 0 || !strings.Contains(r.Stdout, "SERVICE") || !strings.Contains(r.Stdout, "PROCS OK") || strings.Contains(r.Stdout, "dummy_warn") {
		t.Errorf("picket check load procs:\n%v", r)
	}
	r = run(t, nil, picketBin, "check", "--config", e.Config, "nosuch")
	if r.Code != 3 || !strings.Contains(r.Stderr, `no enabled check named "nosuch"`) {
		t.Errorf("unknown service:\n%v", r)
	}
}

func TestPicketConfigCheck(t *testing.T) {
	e := newAgentEnv(t)
	e.write(t, `
[macros]
USER5 = "db-secret"

[[check]]
service = "db"
command = "check_dummy 0 $USER5$"
`)
	r := run(t, nil, picketBin, "config", "check", e.Config)
	if r.Code != 0 || strings.Contains(r.Stdout, "db-secret") || !strings.Contains(r.Stdout, `service = "db"`) {
		t.Errorf("valid config:\n%v", r)
	}
	bad := writeFile(t, filepath.Join(e.Dir, "bad.toml"), "hostname = \"a\"\n[[check]]\nservice = \"x\"\ncommand = \"check_dummy 0\"\ninterval = \"soon\"\n", 0o600)
	r = run(t, nil, picketBin, "config", "check", bad)
	if r.Code != 2 || !strings.Contains(r.Stderr, bad+":5") || !strings.Contains(r.Stderr, "interval") {
		t.Errorf("invalid config:\n%v", r)
	}
}
