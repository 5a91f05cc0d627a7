package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/check"
)

func TestWorstExit(t *testing.T) {
	tests := []struct {
		states []check.State
		want   int
	}{
		{[]check.State{check.OK}, 0},
		{[]check.State{check.OK, check.Unknown}, 3},
		{[]check.State{check.Unknown, check.Warning}, 1},
		{[]check.State{check.Warning, check.Critical, check.Unknown}, 2},
		{nil, 0},
	}
	for _, tt := range tests {
		var rs []check.Result
		for _, s := range tt.states {
			rs = append(rs, check.Result{State: s})
		}
		if got := worstExit(rs); got != tt.want {
			t.Errorf("worstExit(%v) = %d, want %d", tt.states, got, tt.want)
		}
	}
}

// agentConfig writes a config whose checks are shell one-liners, so these
// tests need no installed plugins.
func agentConfig(t *testing.T, checks string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "picket.toml")
	src := "hostname = \"web01\"\nplugin_dirs = [\"" + t.TempDir() + "\"]\n" + checks
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const shellChecks = `
[[check]]
service = "ok"
command = "echo 'ALL OK | t=1s;;;0'; exit 0"
shell = true

[[check]]
service = "warn"
command = "printf 'LOW\nsecond line\n'; exit 1"
shell = true

[[check]]
service = "gone"
command = "check_gone"
`

func TestCheckCommand(t *testing.T) {
	cfg := agentConfig(t, shellChecks)

	code, out, errs := run("check", "--config", cfg)
	if code != 1 {
		t.Errorf("exit %d, want 1 (WARNING is the worst of OK, WARNING, UNKNOWN); stderr %q", code, errs)
	}
	for _, want := range []string{"SERVICE", "ok ", "ALL OK", "warn ", "WARNING", "gone ", "UNKNOWN", `plugin "check_gone" not found`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = run("check", "--config", cfg, "--json", "warn", "ok")
	if code != 1 {
		t.Errorf("--json exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 JSON lines in config order, got:\n%s", out)
	}
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first["service"] != "ok" || first["perfdata"] != "t=1s;;;0" || first["exit_code"] != 0.0 || first["host"] != "web01" {
		t.Errorf("first = %v", first)
	}
	if second["state"] != "WARNING" || second["long_output"] != "second line" {
		t.Errorf("second = %v", second)
	}

	code, _, errs = run("check", "--config", cfg, "gone")
	if code != 3 {
		t.Errorf("UNKNOWN only: exit %d; %s", code, errs)
	}
	code, _, errs = run("check", "--config", cfg, "nosuch")
	if code != exitUsage || !strings.Contains(errs, `no enabled check named "nosuch" (have: ok, warn, gone)`) {
		t.Errorf("unknown service: exit %d, %q", code, errs)
	}
	code, _, errs = run("check", "--config", cfg, "--all", "ok")
	if code != exitUsage || !strings.Contains(errs, "not both") {
		t.Errorf("--all with names: exit %d, %q", code, errs)
	}
}

func TestConfigCheckCommand(t *testing.T) {
	cfg := agentConfig(t, "[macros]\nUSER2 = \"s3cret\"\n"+shellChecks)
	code, out, errs := run("config", "check", cfg)
	if code != 0 || strings.Contains(out, "s3cret") || !strings.Contains(out, `USER2 = "********"`) {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
	// shellChecks starts on line 4 (after [macros]): check[2].command is
	// line 18.
	if !strings.Contains(errs, cfg+`:18: check[2].command: warning: plugin "check_gone" not found`) {
		t.Errorf("missing plugin not warned about at its line: %q", errs)
	}
	if code, _, _ := run("config", "check", "--strict", cfg); code != exitCritical {
		t.Errorf("--strict with a warning: exit %d, want %d", code, exitCritical)
	}
	// Commands that cannot be started are warnings on their own lines.
	cmds := agentConfig(t, "[[check]]\nservice = \"m\"\ncommand = \"check_x $USER7$\"\n\n[[check]]\nservice = \"q\"\ncommand = \"check_x 'open\"\n")
	_, _, errs = run("config", "check", cmds)
	for _, want := range []string{cmds + ":5: check[0].command: warning: ", "$USER7$", cmds + ":9: check[1].command: warning: ", "unterminated quote"} {
		if !strings.Contains(errs, want) {
			t.Errorf("warnings lack %q:\n%s", want, errs)
		}
	}
	bad := agentConfig(t, "[[check]]\nservice = \"x\"\ncommand = \"y\"\ninterval = \"1m\"\ncron = \"@daily\"\n")
	code, _, errs = run("config", "check", bad)
	if code != exitCritical || !strings.Contains(errs, bad+":7: check[0].cron: set either interval or cron") {
		t.Errorf("invalid: exit %d, %q", code, errs)
	}
	if code, _, _ := run("config"); code != exitUsage {
		t.Errorf("config without check: exit %d", code)
	}
}
