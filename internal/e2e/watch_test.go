package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A watched process that dies is reported at once, not at the check's next
// run: its interval is an hour, and the CRITICAL still reaches the real
// nsca within seconds; so does the recovery.
func TestWatchReportsAStoppedProcessAtOnce(t *testing.T) {
	e := newAgentEnv(t)
	marker := fmt.Sprintf("picket-watch-%d", time.Now().UnixNano())
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "3600")
		cmd.Args[0] = marker // the process's name in /proc/PID/cmdline
		cmd.Path = "/bin/sleep"
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	sleeper := start()
	e.write(t, fmt.Sprintf(`[[check]]
service = "sleeper"
command = "picket:procs -a %s -c 1:"
mode = "watch"
watch_interval = "1s"
interval = "1h"
`, marker))
	agent := e.start(t)
	defer agent.Stop()
	e.waitResult(t, "sleeper", is(0, "PROCS OK"))

	sleeper.Process.Signal(syscall.SIGKILL)
	sleeper.Wait()
	r := e.waitResult(t, "sleeper", is(2, "PROCS CRITICAL"))
	if !strings.Contains(r.Output, "0 processes") {
		t.Errorf("CRITICAL result: %q", r.Output)
	}
	start()
	ok := 0
	for _, r := range e.results(t)["sleeper"] {
		if r.RC == 0 {
			ok++
		}
	}
	e.waitResult(t, "sleeper", func(r received) bool {
		n := 0
		for _, x := range e.results(t)["sleeper"] {
			if x.RC == 0 {
				n++
			}
		}
		return n > ok
	})
	if !strings.Contains(agent.Log.String(), "watch: state changed") {
		t.Error("the agent did not log the watch's change of state")
	}
}
