package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/config"

	"github.com/picket-monitoring/picket/internal/leaktest"
	"github.com/picket-monitoring/picket/internal/spool"
)

func TestMain(m *testing.M) {
	code := leaktest.HostStateUntouched(m.Run)
	if code == 0 {
		if g := leaktest.Find("github.com/picket-monitoring/picket/internal/agent", 5*time.Second); g != "" {
			os.Stderr.WriteString("leaked goroutine:\n" + g + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// Run in-process: results and the agent's own health reach the target, and
// a cancelled context stops everything it started.
func TestRunDeliversAndStopsCleanly(t *testing.T) {
	rcv := startReceiver(t, "127.0.0.1:0")
	cfg := writeConfig(t, t.TempDir(), rcv.addr, echoCheck)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{ConfigPath: cfg, StatsEvery: 200 * time.Millisecond}) }()

	seen := map[string]string{}
	deadline := time.Now().Add(20 * time.Second)
	for seen["echo"] == "" || seen["picket_poller"] == "" || seen["picket_spooler"] == "" {
		if time.Now().After(deadline) {
			t.Fatalf("results seen: %v", seen)
		}
		rcv.mu.Lock()
		for _, p := range rcv.got {
			seen[p.Service] = p.Output
		}
		rcv.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	if seen["echo"] != "ECHO OK | n=1" || !strings.HasPrefix(seen["picket_poller"], "POLLER OK - 1 checks") ||
		!strings.HasPrefix(seen["picket_spooler"], "SPOOLER OK - "+rcv.addr) {
		t.Errorf("results: %v", seen)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

const echoCheck = `
[[check]]
service = "echo"
command = "echo 'ECHO OK | n=1'"
shell = true
interval = "1s"
`

// counterCheck numbers its runs, RUN 1, RUN 2..., counting in a file, so
// a test can tell a lost, repeated or reordered result.
const counterCheck = `
[[check]]
service = "counter"
command = "counter $USER2$"
interval = "1s"
`

const counterPlugin = `#!/bin/sh
n=$(( $(cat "$1" 2>/dev/null || echo 0) + 1 ))
echo $n > "$1"
echo "RUN $n"
`

// writeConfig writes an agent config in dir with its spool in dir/spool
// and the counter plugin in dir/plugins.
func writeConfig(t *testing.T, dir, target, rest string) string {
	t.Helper()
	plugins := filepath.Join(dir, "plugins")
	os.MkdirAll(plugins, 0o755)
	if err := os.WriteFile(filepath.Join(plugins, "counter"), []byte(counterPlugin), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "picket.toml")
	src := `hostname = "web01"
plugin_dirs = ["` + plugins + `"]
spool_dir = "` + filepath.Join(dir, "spool") + `"
state_dir = "` + filepath.Join(dir, "state") + `"

[macros]
USER2 = "` + filepath.Join(dir, "count") + `"

` + targetBlock(target) + rest
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// targetBlock is a [[target]] for addr, or nothing for "".
func targetBlock(addr string) string {
	if addr == "" {
		return ""
	}
	return "[[target]]\naddress = \"" + addr + "\"\nencryption = \"none\"\n"
}

// runAgent runs the agent in-process until the returned stop is called.
func runAgent(t *testing.T, o Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
}

// Results produced while the target is down survive an agent restart and
// arrive once it is up, in order and exactly once.
func TestRunKeepsResultsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	addr := closedAddr(t)
	cfg := writeConfig(t, dir, addr, counterCheck+"\n[health]\nenabled = false\n")
	stop := runAgent(t, Options{ConfigPath: cfg})
	// Wait until a few results are on disk, then stop.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n uint64
		// The agent creates the spool as it starts.
		if s, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{ReadOnly: true}); err == nil {
			n = s.Stats().Records
			s.Close()
		}
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d results spooled", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	s, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	spooled := s.Stats().Records
	s.Close()

	rcv := startReceiver(t, addr)
	stop = runAgent(t, Options{ConfigPath: cfg})
	got := rcv.wait(t, int(spooled))
	stop()
	for i, p := range got {
		if want := fmt.Sprintf("RUN %d", i+1); p.Service != "counter" || p.Output != want {
			t.Fatalf("packet %d = %s %q, want counter %q: lost, repeated or reordered", i, p.Service, p.Output, want)
		}
	}
}

// A reload that changes the target sends the backlog to the new one.
func TestRunReloadSwitchesTargets(t *testing.T) {
	dir := t.TempDir()
	// Without the host result, the echo check's is the first.
	noHost := echoCheck + "\n[health]\nhost_result = false\n"
	cfg := writeConfig(t, dir, closedAddr(t), noHost)
	reload := make(chan struct{}, 1)
	stop := runAgent(t, Options{ConfigPath: cfg, Reload: reload})
	defer stop()
	time.Sleep(1500 * time.Millisecond) // a result or two for the dead target
	rcv := startReceiver(t, "127.0.0.1:0")
	writeConfig(t, dir, rcv.addr, noHost)
	reload <- struct{}{}
	got := rcv.wait(t, 1)
	if got[0].Service != "echo" {
		t.Errorf("first result at the new target: %+v", got[0])
	}
}

// An agent installed before anyone configured a target runs and keeps its
// results; the first target a reload brings gets all of them, in order.
func TestRunWithoutTargetsKeepsResultsForTheFirst(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "", counterCheck+"\n[health]\nenabled = false\n")
	reload := make(chan struct{}, 1)
	stop := runAgent(t, Options{ConfigPath: cfg, Reload: reload})
	defer stop()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "count"))
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the check ran %q times without a target", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rcv := startReceiver(t, "127.0.0.1:0")
	writeConfig(t, dir, rcv.addr, counterCheck+"\n[health]\nenabled = false\n")
	reload <- struct{}{}
	for i, p := range rcv.wait(t, 2) {
		if want := fmt.Sprintf("RUN %d", i+1); p.Output != want {
			t.Fatalf("packet %d = %q, want %q: the results from before the target were lost", i, p.Output, want)
		}
	}
}

// A new NSCA password alone makes a reload restart the target's sender:
// it reads the password only as it starts.
func TestTargetFingerprintSeesANewPassword(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "nsca.secret")
	cfg := filepath.Join(dir, "picket.toml")
	os.WriteFile(cfg, []byte("hostname = \"h\"\n[[target]]\naddress = \"127.0.0.1:5667\"\nencryption = \"aes256\"\npassword_file = \""+pw+"\"\n"), 0o600)
	load := func(secret string) *config.Config {
		t.Helper()
		if err := os.WriteFile(pw, []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b, c := load("one\n"), load("one"), load("two\n")
	if a.Targets[0].Fingerprint() != b.Targets[0].Fingerprint() {
		t.Error("the same password (one line ending aside) counts as a change")
	}
	if a.Targets[0].Fingerprint() == c.Targets[0].Fingerprint() {
		t.Error("a new password does not count as a change")
	}
}

// The agent reports its host UP at start and with each health report, with
// its version and uptime, so Nagios' host freshness can tell a dead agent;
// host_result = false stops it.
func TestRunReportsItsHost(t *testing.T) {
	for _, on := range []bool{true, false} {
		dir := t.TempDir()
		rcv := startReceiver(t, "127.0.0.1:0")
		rest := echoCheck
		if !on {
			rest += "\n[health]\nhost_result = false\n"
		}
		stop := runAgent(t, Options{ConfigPath: writeConfig(t, dir, rcv.addr, rest), Version: "1.2.3", StatsEvery: time.Second})
		got := rcv.wait(t, 6) // the host's first, a second health report, echo's
		stop()
		hosts := 0
		for _, p := range got {
			if p.Service != "" {
				continue
			}
			hosts++
			if p.Host != "web01" || p.ReturnCode != 0 || !strings.HasPrefix(p.Output, "PICKET OK - agent 1.2.3 on ") || !strings.Contains(p.Output, "| agent_uptime=") {
				t.Errorf("host result %+v", p)
			}
		}
		if on && hosts < 2 {
			t.Errorf("%d host results among %d results, want one at start and one per health report", hosts, len(got))
		}
		if !on && hosts > 0 {
			t.Errorf("host_result = false, yet %d host results", hosts)
		}
	}
}
