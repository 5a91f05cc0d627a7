package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// picket status and picket run-now against a real running agent, through
// its control channel; another user is refused, by the socket's mode and,
// where someone opened that up, by the agent's own check of who connects;
// with the agent stopped, status says so and shows the spool.
func TestStatusAndRunNow(t *testing.T) {
	e := newAgentEnv(t)
	e.write(t, `[[check]]
service = "hourly"
command = "check_dummy 1 'hourly says hello'"
interval = "1h"

[[check]]
service = "often"
command = "check_dummy 0 often"
interval = "1s"
`)
	agent := e.start(t)
	defer agent.Stop()
	e.waitResult(t, "often", is(0, "OK: often"))

	st := run(t, nil, picketBin, "status", "--config", e.Config)
	for _, want := range []string{"on agent01, running since", "hourly", "often", "every 1h0m0s", "local (" + e.Config + ":",
		"OK: often", e.NSCA.Addr, "spool " + filepath.Join(e.Dir, "spool")} {
		if !strings.Contains(st.Stdout, want) {
			t.Errorf("picket status lacks %q:\n%s", want, st.Stdout)
		}
	}
	if st.Code != 0 {
		t.Errorf("picket status: exit %d", st.Code)
	}
	js := run(t, nil, picketBin, "status", "--config", e.Config, "--json")
	if js.Code != 0 || !strings.Contains(js.Stdout, `"service": "hourly"`) {
		t.Errorf("picket status --json: %v", js)
	}

	// The hourly check runs now when asked, not in an hour.
	rn := run(t, nil, picketBin, "run-now", "--config", e.Config, "hourly")
	if rn.Code != 0 || !strings.Contains(rn.Stdout, "agent01/hourly") {
		t.Fatalf("picket run-now: %v", rn)
	}
	e.waitResult(t, "hourly", is(1, "WARNING: hourly says hello"))
	if bad := run(t, nil, picketBin, "run-now", "--config", e.Config, "nosuch"); bad.Code == 0 || !strings.Contains(bad.Stderr, `no check "nosuch"`) {
		t.Errorf("run-now of an unknown check: %v", bad)
	}

	// Another user: the socket's folder keeps them out; opened up by hand,
	// the agent itself refuses them.
	sock := filepath.Join(e.Dir, "state", "control.sock")
	binDir, err := os.MkdirTemp("", "picket-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	os.Chmod(binDir, 0o755)
	bin := filepath.Join(binDir, "picket")
	data, err := os.ReadFile(picketBin)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, bin, string(data), 0o755)
	for d := e.Dir; d != "/" && d != "/tmp"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // so nobody can read the config on the way
	}
	nobody := func() procResult {
		cmd := exec.Command("su", "-s", "/bin/sh", "nobody", "-c", "exec "+bin+" status --config "+e.Config)
		out, _ := cmd.CombinedOutput()
		return procResult{Code: cmd.ProcessState.ExitCode(), Stderr: string(out)}
	}
	os.Chmod(e.Config, 0o644)
	if r := nobody(); r.Code == 0 || !strings.Contains(r.Stderr, "permission denied") {
		t.Errorf("another user got past the 0700 folder: %v", r)
	}
	os.Chmod(filepath.Dir(sock), 0o777)
	os.Chmod(sock, 0o777)
	if r := nobody(); r.Code == 0 || !strings.Contains(r.Stderr, "refused: only the user the agent runs as") {
		t.Errorf("another user with the socket opened up: %v", r)
	}
	waitLog(t, agent, "control channel: refused a request from another user")

	agent.Stop()
	time.Sleep(100 * time.Millisecond)
	off := run(t, nil, picketBin, "status", "--config", e.Config)
	if off.Code != 2 || !strings.Contains(off.Stdout, "picket is not running") || !strings.Contains(off.Stdout, "QUEUED") {
		t.Errorf("picket status with the agent stopped: %v", off)
	}
}
