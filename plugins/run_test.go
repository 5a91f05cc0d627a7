//go:build unix

package plugins

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// guard bounds runs that should end quickly; it only catches a hang.
const guard = 30 * time.Second

func perfLabels(ps []check.Perf) []string {
	var l []string
	for _, p := range ps {
		l = append(l, p.Label)
	}
	return l
}

// TestRunOutcomes is the outcome table of design.md section 3, one row per
// way a plugin can end that is not about time.
func TestRunOutcomes(t *testing.T) {
	dir := pluginDir(t, "fake_ok", "fake_warn", "fake_exit", "fake_exit7", "fake_badperf",
		"fake_stderr", "fake_silent", "fake_signal")
	garbage := filepath.Join(dir, "fake_garbage")
	if err := os.WriteFile(garbage, []byte("\x00\x01 not a program"), 0o755); err != nil {
		t.Fatal(err)
	}
	noexec := filepath.Join(dir, "fake_noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\necho OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "fake_ok")
	addFakes(t, filepath.Dir(outside), "fake_ok")
	r := NewRunner(Config{Dirs: []string{dir, "/nonexistent/plugins.d"}})

	tests := []struct {
		name, cmd string
		state     check.State
		output    string // exact, or a prefix when it ends in "…"
		long      string
		perf      []string
		exitCode  int
	}{
		{name: "ok with perfdata and long output", cmd: "fake_ok", state: check.OK, output: "OK - all good",
			long: "first long line\nsecond long line", perf: []string{"load", "free space", "rss"}, exitCode: 0},
		{name: "warning", cmd: "fake_warn", state: check.Warning, output: "WARNING - disk 91%", perf: []string{"disk"}, exitCode: 1},
		{name: "critical", cmd: "fake_exit 2 CRITICAL - down", state: check.Critical, output: "CRITICAL - down", exitCode: 2},
		{name: "unknown", cmd: "fake_exit 3 UNKNOWN - no idea", state: check.Unknown, output: "UNKNOWN - no idea", exitCode: 3},
		{name: "exit code out of range", cmd: "fake_exit7", state: check.Unknown,
			output: "plugin exited with code 7 (out of range 0..3): weird state", long: "more detail", perf: []string{"a"}, exitCode: 7},
		{name: "exit code 4 without output", cmd: "fake_exit 4", state: check.Unknown,
			output: "plugin exited with code 4 (out of range 0..3)", exitCode: 4},
		{name: "bad perfdata keeps good items", cmd: "fake_badperf", state: check.OK, output: "OK - mixed", perf: []string{"good", "also"}, exitCode: 0},
		{name: "stderr when stdout is blank", cmd: "fake_stderr", state: check.Critical, output: "CRITICAL - config file missing", exitCode: 2},
		{name: "no output at all", cmd: "fake_silent", state: check.Warning, output: "(No output returned from plugin)", exitCode: 1},
		{name: "killed by SIGKILL", cmd: "fake_signal KILL", state: check.Unknown, output: "plugin killed by signal 9 (killed)", exitCode: -1},
		{name: "killed by SIGTERM after output", cmd: "fake_signal TERM about to die", state: check.Unknown,
			output: "plugin killed by signal 15 (terminated): about to die", exitCode: -1},
		{name: "missing", cmd: "check_foo -w 1", state: check.Unknown,
			output: `plugin "check_foo" not found in ` + dir + ", /nonexistent/plugins.d", exitCode: -1},
		{name: "not executable", cmd: "fake_noexec", state: check.Unknown,
			output: "plugin " + noexec + " is not executable (mode -rw-r--r--): permission denied", exitCode: -1},
		{name: "outside the plugin folders", cmd: outside, state: check.Unknown,
			output: "plugin " + outside + " is outside the plugin folders " + dir + ", /nonexistent/plugins.d", exitCode: -1},
		{name: "relative path escaping", cmd: "../fake_ok", state: check.Unknown,
			output: `plugin path "../fake_ok" leaves the plugin folders …`, exitCode: -1},
		{name: "undefined macro", cmd: "fake_ok $ARG1$", state: check.Unknown, output: "undefined macro $ARG1$ in command", exitCode: -1},
		{name: "unparseable quoting", cmd: `fake_ok "open`, state: check.Unknown, output: `parse command "fake_ok \"open": …`, exitCode: -1},
		{name: "exec fails", cmd: "fake_garbage", state: check.Unknown, output: "cannot start plugin " + garbage + ": …", exitCode: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := check.Check{Host: "web01", Service: "svc", Command: tt.cmd, Timeout: time.Minute, TimeoutState: check.Critical}
			before := time.Now()
			res := runGuarded(t, context.Background(), r, c, guard)
			if res.State != tt.state {
				t.Errorf("State = %v, want %v (output %q)", res.State, tt.state, res.Output)
			}
			if prefix, ok := strings.CutSuffix(tt.output, "…"); ok {
				if !strings.HasPrefix(res.Output, prefix) {
					t.Errorf("Output = %q, want prefix %q", res.Output, prefix)
				}
			} else if res.Output != tt.output {
				t.Errorf("Output = %q, want %q", res.Output, tt.output)
			}
			if res.LongOutput != tt.long {
				t.Errorf("LongOutput = %q, want %q", res.LongOutput, tt.long)
			}
			if got := strings.Join(perfLabels(res.Perfdata), ","); got != strings.Join(tt.perf, ",") {
				t.Errorf("perfdata labels = %q, want %q", got, tt.perf)
			}
			if res.ExitCode != tt.exitCode {
				t.Errorf("ExitCode = %d, want %d", res.ExitCode, tt.exitCode)
			}
			if res.Host != "web01" || res.Service != "svc" || res.CheckTime.Before(before) || res.Duration < 0 {
				t.Errorf("Host, Service, CheckTime, Duration = %q, %q, %v, %v", res.Host, res.Service, res.CheckTime, res.Duration)
			}
		})
	}
}

func TestRunFloodKeepsFirstLineAndPerfdata(t *testing.T) {
	r := NewRunner(Config{Dirs: []string{pluginDir(t, "fake_flood")}})
	res := runGuarded(t, context.Background(), r, check.Check{Command: "fake_flood", Timeout: time.Minute}, 2*time.Minute)
	if res.State != check.OK || res.Output != "OK flood" {
		t.Fatalf("State, Output = %v, %q", res.State, res.Output)
	}
	if len(res.Perfdata) != 1 || res.Perfdata[0].Label != "bytes" || res.Perfdata[0].Value != floodTotal {
		t.Errorf("Perfdata = %+v", res.Perfdata)
	}
	marker := "\n[output truncated at 65536 of 104857600 bytes]"
	if !strings.HasSuffix(res.LongOutput, marker) {
		t.Errorf("LongOutput ends %q, want marker %q", res.LongOutput[max(0, len(res.LongOutput)-80):], marker)
	}
	if len(res.LongOutput) > DefaultMaxOutput+len(marker) {
		t.Errorf("LongOutput is %d bytes, more than the cap", len(res.LongOutput))
	}
	// Only whole lines are kept: a line cut at the cap is dropped.
	body := strings.TrimSuffix(res.LongOutput, marker)
	for i, line := range strings.Split(body, "\n") {
		if len(line) != 1023 {
			t.Fatalf("long output line %d has %d bytes, want 1023", i, len(line))
		}
	}
}

func TestRunSmallCapOnStderr(t *testing.T) {
	r := NewRunner(Config{Dirs: []string{pluginDir(t, "fake_stderr")}, MaxOutput: 10})
	res := runGuarded(t, context.Background(), r, check.Check{Command: "fake_stderr"}, guard)
	// stdout (4 blank bytes) is under the cap; stderr is cut at 10 bytes
	// with no line end, so its first line is kept as far as it goes.
	if res.State != check.Critical || res.Output != "CRITICAL -" ||
		res.LongOutput != "[output truncated at 10 of 31 bytes]" {
		t.Errorf("State, Output, LongOutput = %v, %q, %q", res.State, res.Output, res.LongOutput)
	}
}

func TestRunTimeout(t *testing.T) {
	dir := pluginDir(t, "fake_hang")
	for _, state := range []check.State{check.Critical, check.Warning, check.OK} {
		r := NewRunner(Config{Dirs: []string{dir}, KillGrace: 100 * time.Millisecond})
		pidfile := filepath.Join(t.TempDir(), "pid")
		c := check.Check{Command: "fake_hang " + pidfile, Timeout: 200 * time.Millisecond, TimeoutState: state}
		res := runGuarded(t, context.Background(), r, c, 200*time.Millisecond+100*time.Millisecond+guard)
		if res.State != state || res.Output != "check timed out after 200ms" || res.ExitCode != -1 ||
			res.LongOutput != "" || res.Perfdata != nil {
			t.Errorf("TimeoutState %v: got %v %q long %q perf %v exit %d", state, res.State, res.Output,
				res.LongOutput, res.Perfdata, res.ExitCode)
		}
	}
}

func TestRunInterruptedByCaller(t *testing.T) {
	stopping := errors.New("agent stopping")
	r := NewRunner(Config{Dirs: []string{pluginDir(t, "fake_hang")}, KillGrace: 100 * time.Millisecond})

	t.Run("before start", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(stopping)
		res := runGuarded(t, ctx, r, check.Check{Command: "fake_hang /nonexistent/pid"}, guard)
		if res.State != check.Unknown || res.Output != "check interrupted after 0s: agent stopping" || res.ExitCode != -1 {
			t.Errorf("got %v %q exit %d", res.State, res.Output, res.ExitCode)
		}
	})

	t.Run("while running", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		pidfile := filepath.Join(t.TempDir(), "pid")
		c := check.Check{Command: "fake_hang " + pidfile, Timeout: time.Hour, TimeoutState: check.Critical}
		done := make(chan check.Result, 1)
		go func() { done <- r.Run(ctx, c) }()
		waitForFile(t, pidfile)
		cancel(stopping)
		var res check.Result
		select {
		case res = <-done:
		case <-time.After(guard):
			t.Fatal("Run did not end after its context was cancelled")
		}
		if res.State != check.Unknown || !strings.HasPrefix(res.Output, "check interrupted after ") ||
			!strings.HasSuffix(res.Output, ": agent stopping") || res.ExitCode != -1 {
			t.Errorf("got %v %q exit %d", res.State, res.Output, res.ExitCode)
		}
	})
}

// waitForFile polls until a fake plugin has written path: the only way to
// know it is running. The bound only guards against a fake that never
// starts.
func waitForFile(t *testing.T, path string) []byte {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was never written", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunShell(t *testing.T) {
	dir := pluginDir(t, "fake_warn")
	r := NewRunner(Config{Dirs: []string{dir}, Env: []string{"PATH=/usr/bin:/bin"}})
	c := check.Check{Host: "web01", Shell: true,
		Command: `fake_warn >/dev/null; echo "OK from $HOSTNAME$ via $NAGIOS_HOSTNAME | x=1"; exit 1`}
	res := runGuarded(t, context.Background(), r, c, guard)
	if res.State != check.Warning || res.Output != "OK from web01 via web01" || len(res.Perfdata) != 1 {
		t.Errorf("got %v %q %v", res.State, res.Output, res.Perfdata)
	}
}

func envOf(t *testing.T, res check.Result) envReport {
	t.Helper()
	if res.State != check.OK || res.Output != "OK env" {
		t.Fatalf("fake_env: %v %q", res.State, res.Output)
	}
	js, err := base64.StdEncoding.DecodeString(res.LongOutput)
	if err != nil {
		t.Fatal(err)
	}
	var rep envReport
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestRunEnvironmentAndArgv: what the plugin process really receives.
func TestRunEnvironmentAndArgv(t *testing.T) {
	dir := pluginDir(t, "fake_env")
	r := NewRunner(Config{
		Dirs:   []string{dir},
		Macros: map[string]string{"USER2": "/opt/x y", "SITE": "paris"},
		Env:    []string{"KEEP_ME=1", "NAGIOS_HOSTNAME=stale", "PATH=/usr/bin"},
	})
	c := check.Check{Host: "web 01", HostAddress: "10.0.0.1", Service: "disk /var",
		Command: `fake_env $HOSTNAME$ "-s=$SERVICEDESC$" '^up$' $SITE$ '' $$5`}
	rep := envOf(t, runGuarded(t, context.Background(), r, c, guard))
	wantArgs := []string{"web 01", "-s=disk /var", "^up$", "paris", "", "$5"}
	if !slices.Equal(rep.Args, wantArgs) {
		t.Errorf("argv = %q, want %q", rep.Args, wantArgs)
	}
	wantEnv := map[string]string{
		"KEEP_ME": "1", "PATH": "/usr/bin",
		"NAGIOS_HOSTNAME": "web 01", "NAGIOS_HOSTADDRESS": "10.0.0.1", "NAGIOS_SERVICEDESC": "disk /var",
		"NAGIOS_USER1": dir, "NAGIOS_USER2": "/opt/x y",
	}
	if !maps.Equal(rep.Env, wantEnv) {
		t.Errorf("env = %v, want %v", rep.Env, wantEnv)
	}

	// A host check has an empty $SERVICEDESC$; shell checks find plugins
	// by name through PATH.
	c = check.Check{Host: "h", Command: "fake_env [$SERVICEDESC$]", Shell: true}
	rep = envOf(t, runGuarded(t, context.Background(), r, c, guard))
	if !slices.Equal(rep.Args, []string{"[]"}) || rep.Env["PATH"] != dir+":/usr/bin" || rep.Env["NAGIOS_SERVICEDESC"] != "" {
		t.Errorf("shell check: argv %q, env %v", rep.Args, rep.Env)
	}
}
