package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// picket service manages a real service on the test machine: with no
// systemd running (a container, CI), that is the SysV fallback. The agent
// it starts delivers to a real nsca daemon, and a stop is a clean one.
func TestServiceLifecycle(t *testing.T) {
	needE2E(t)
	if os.Geteuid() != 0 {
		t.Fatal("picket service installs a system service: run as root (CI does)")
	}
	n := startNSCA(t, 1, "svc-secret")
	dir := t.TempDir()
	pw := writeFile(t, filepath.Join(dir, "nsca.secret"), "svc-secret\n", 0o600)
	logFile := filepath.Join(dir, "picket.log")
	cfg := writeFile(t, filepath.Join(dir, "picket.toml"), fmt.Sprintf(`hostname = "svc01"
state_dir = %q
[log]
file = %q
[[target]]
address = %q
encryption = "xor"
password_file = %q
[[check]]
service = "echo"
command = "echo 'SERVICE OK'"
shell = true
interval = "1s"
`, filepath.Join(dir, "state"), logFile, n.Addr, pw), 0o600)

	name := "picket-e2e-" + strconv.Itoa(os.Getpid())
	svc := func(action string) procResult {
		return run(t, nil, picketBin, "service", action, "--name", name, "--config", cfg)
	}
	t.Cleanup(func() {
		if _, err := os.Stat("/etc/init.d/" + name); err == nil {
			svc("uninstall")
		}
		os.Remove("/var/log/" + name + ".log") // the init script's stdout

	})
	if r := svc("install"); r.Code != 0 {
		t.Fatalf("install: %v", r)
	}
	if r := svc("status"); r.Code != 2 || !strings.Contains(r.Stdout, "stopped") {
		t.Errorf("status after install: %v", r)
	}
	if r := svc("start"); r.Code != 0 {
		t.Fatalf("start: %v", r)
	}
	if r := svc("status"); r.Code != 0 || !strings.Contains(r.Stdout, "running") {
		t.Errorf("status after start: %v", r)
	}
	// The agent's host result comes first, then the check's.
	lines := waitLines(t, n.CommandFile, 2)
	if !slices.ContainsFunc(lines, func(l string) bool {
		return strings.Contains(l, "PROCESS_SERVICE_CHECK_RESULT;svc01;echo;0;SERVICE OK")
	}) {
		t.Errorf("nsca got %q", lines)
	}
	pidFile := "/var/run/" + name + ".pid"
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if r := svc("stop"); r.Code != 0 {
		t.Fatalf("stop: %v", r)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%s", strings.TrimSpace(string(pid)))); err == nil {
		t.Errorf("pid %s still runs after stop", pid)
	}
	// The agent stopped cleanly (SIGTERM, spool closed), into its own
	// private log file.
	logText, _ := os.ReadFile(logFile)
	if !strings.Contains(string(logText), `msg="agent stopped"`) {
		t.Errorf("log lacks a clean stop:\n%s", logText)
	}
	if fi, err := os.Stat(logFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log file: %v %v", fi, err)
	}
	if r := svc("status"); r.Code != 2 || !strings.Contains(r.Stdout, "stopped") {
		t.Errorf("status after stop: %v", r)
	}
	if r := svc("uninstall"); r.Code != 0 {
		t.Fatalf("uninstall: %v", r)
	}
	if r := svc("status"); r.Code != 2 || !strings.Contains(r.Stdout, "not installed") {
		t.Errorf("status after uninstall: %v", r)
	}
	for _, p := range []string{"/etc/init.d/" + name, "/etc/rc2.d/S50" + name, "/etc/rc0.d/K02" + name} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
}
