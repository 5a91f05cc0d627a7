//go:build linux

package wintest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// picket service install, start, status, stop and uninstall through Wine's
// service control manager, with results at nsca while the service runs.
// Wine starts services outside session 0, where svc.IsWindowsService
// guesses "not a service": only the --service flag on the registered
// command line makes this work.
func TestServiceLifecycle(t *testing.T) {
	needLane(t)
	dir, _ := testDir(t)
	n := startNSCA(t, t.TempDir(), 0)
	top, table := counterCheck(t, dir, "svc_counter")
	_, cfgWin := agentConfig(t, dir, "winsvc", n.Port, top, table)
	const name = "picket-wtest"
	svc := func(action string) result {
		return wine(t, nil, lane.picket, "service", action, "--name", name, "--config", cfgWin)
	}
	r := svc("install")
	if r.Code != 0 {
		t.Fatalf("service install: %v", r)
	}
	t.Cleanup(func() { svc("uninstall") })
	// Wine refuses SERVICE_CONFIG_FAILURE_ACTIONS_FLAG: a warning that
	// names it, and the service is installed all the same.
	if strings.Contains(r.Stderr, "not set") {
		if !strings.Contains(r.Stderr, "warning:") {
			t.Errorf("a refused recovery setting must be a warning: %v", r)
		}
		t.Logf("install warned, as it should where a setting is refused: %s", strings.TrimSpace(r.Stderr))
	}

	q := wine(t, nil, "reg", "query", `HKLM\System\CurrentControlSet\Services\`+name, "/v", "ImagePath")
	if !strings.Contains(q.Stdout, "run --service --config") {
		t.Errorf("the registered command line does not say --service: %v", q)
	}

	if r := svc("start"); r.Code != 0 {
		t.Fatalf("service start: %v", r)
	}
	if r := svc("status"); r.Code != 0 || !strings.Contains(r.Stdout, name+": running") {
		t.Errorf("service status while running: %v", r)
	}
	n.WaitResults(t, "winsvc", "svc_counter", 2)
	t.Log("Wine has no Event Log (its ReportEvent only traces): the service's Event Log records are not proven here")

	if r := svc("stop"); r.Code != 0 {
		t.Fatalf("service stop: %v", r)
	}
	if r := svc("status"); r.Code != 2 || !strings.Contains(r.Stdout, name+": stopped") {
		t.Errorf("service status after stop: %v", r)
	}
	if r := svc("uninstall"); r.Code != 0 {
		t.Fatalf("service uninstall: %v", r)
	}
	// --service outside the service manager fails at once, saying why,
	// rather than running as a console program nobody asked for.
	if r := wine(t, nil, lane.picket, "run", "--service", "--config", cfgWin); r.Code != 2 || !strings.Contains(r.Stderr, "--service is for the service manager's command line only") {
		t.Errorf("picket run --service from a console: %v", r)
	}
	if r := svc("status"); r.Code != 2 || !strings.Contains(r.Stdout, name+": not installed") {
		t.Errorf("service status after uninstall: %v", r)
	}
}

// picket setup whose --service step fails takes back everything the run
// wrote, so a retried install writes the new settings instead of keeping
// stale ones; what an earlier run wrote comes back when --force replaced it.
//
// Under Wine a secret setup writes can never pass picket's own check: Wine
// maps the DACL setup gives it to a Unix mode that lets others read, and
// reports Everyone as a reader. So the secret's part is the validation
// failure itself (written, refused, taken back), and the --service part
// runs without secrets.
func TestSetupFailedRunLeavesNothing(t *testing.T) {
	needLane(t)
	dir, _ := testDir(t)
	cfgDir := filepath.Join(dir, "ProgramData", "picket")
	cfg := filepath.Join(cfgDir, "picket.toml")
	cfgWin := winPath(cfg)
	setup := func(args ...string) result {
		return wine(t, nil, lane.picket, append([]string{"setup", "--config", cfgWin}, args...)...)
	}
	left := func() []os.DirEntry {
		ents, _ := os.ReadDir(cfgDir)
		return ents
	}

	r := setup("--server", "127.0.0.1:5667", "--nsca-password", "pw")
	if r.Code != 2 || !strings.Contains(r.Stderr, "readable by Everyone") {
		t.Fatalf("setup with a password under Wine: want the secret refused as readable by Everyone: %v", r)
	}
	t.Log("Wine lets Everyone read every file it makes; setup refused its own secret and took it back")
	if ents := left(); len(ents) != 0 {
		t.Fatalf("a refused setup left %v in %s", ents, cfgDir)
	}

	r = setup("--server", "127.0.0.1:5667", "--service", "no-such-service")
	if r.Code != 2 || !strings.Contains(r.Stderr, "took back what this run wrote") {
		t.Fatalf("setup with a service that does not exist: %v", r)
	}
	if ents := left(); len(ents) != 0 {
		t.Fatalf("a failed setup left %v in %s", ents, cfgDir)
	}

	// The retry without the failing step writes the config.
	if r := setup("--server", "127.0.0.1:5667"); r.Code != 0 || !strings.Contains(r.Stdout, "wrote "+cfgWin) {
		t.Fatalf("setup retried: %v", r)
	}
	first, _ := os.ReadFile(cfg)

	// A forced run that fails puts the first run's config back.
	if r := setup("--server", "other:5667", "--force", "--service", "no-such-service"); r.Code != 2 {
		t.Fatalf("forced setup with a failing service step: %v", r)
	}
	if now, _ := os.ReadFile(cfg); string(now) != string(first) || !strings.Contains(string(first), "127.0.0.1:5667") {
		t.Errorf("the config after a failed forced setup:\n%s\nwant the first run's:\n%s", now, first)
	}
}
