package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/nsca"
)

// A reload that changes one target restarts that target's sender only: the
// other keeps running as it was (its counters run on), and both receive
// every result once.
func TestReloadRestartsOnlyTheChangedTarget(t *testing.T) {
	dir := t.TempDir()
	a, b := startReceiver(t, "127.0.0.1:0"), startReceiver(t, "127.0.0.1:0")
	writeConfig(t, dir, "", "") // the counter plugin
	write := func(timeoutB string) {
		src := `hostname = "web01"
state_dir = "` + filepath.Join(dir, "state") + `"
spool_dir = "` + filepath.Join(dir, "spool") + `"
plugin_dirs = ["` + filepath.Join(dir, "plugins") + `"]
[macros]
USER2 = "` + filepath.Join(dir, "count") + `"
[health]
enabled = false
[spool]
flush_interval = "50ms"
[[target]]
address = "` + a.addr + `"
encryption = "none"
[[target]]
address = "` + b.addr + `"
encryption = "none"
timeout = "` + timeoutB + `"
` + counterCheck
		if err := os.WriteFile(filepath.Join(dir, "picket.toml"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("10s")
	ag, err := New(Options{ConfigPath: filepath.Join(dir, "picket.toml")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer ag.Stop()
	a.wait(t, 2)
	b.wait(t, 2)

	targetSent := func(addr string) uint64 {
		for _, g := range ag.send.Stats().Groups {
			for _, tg := range g.Targets {
				if tg.Address == addr {
					return tg.Sent
				}
			}
		}
		t.Fatalf("no target %s in the senders' stats", addr)
		return 0
	}
	beforeA := targetSent(a.addr)
	write("20s")
	if err := ag.Reload(""); err != nil {
		t.Fatal(err)
	}
	if got := targetSent(a.addr); got < beforeA {
		t.Errorf("unchanged target %s was restarted: sent %d, was %d", a.addr, got, beforeA)
	}
	if got := targetSent(b.addr); got > 1 {
		t.Errorf("changed target %s kept its sender: sent %d since the reload", b.addr, got)
	}
	n := len(a.wait(t, 4))
	time.Sleep(100 * time.Millisecond)
	ag.Stop()
	ga, gb := a.wait(t, n), b.wait(t, n)
	if len(ga) != len(gb) {
		t.Errorf("targets received %d and %d results: one lost or repeated some", len(ga), len(gb))
	}
	for _, got := range [][]nsca.Packet{ga, gb} {
		for i, p := range got {
			if want := fmt.Sprintf("RUN %d", i+1); p.Output != want {
				t.Fatalf("packet %d = %q, want %q: lost, repeated or reordered", i, p.Output, want)
			}
		}
	}
}

// startAgent starts an agent on cfg and stops it when the test ends.
func startAgent(t *testing.T, cfg string) *Agent {
	t.Helper()
	ag, err := New(Options{ConfigPath: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ag.Stop)
	return ag
}

// wantRuns fails unless got is RUN 1, RUN 2, ... in order.
func wantRuns(t *testing.T, got []nsca.Packet) {
	t.Helper()
	for i, p := range got {
		if want := fmt.Sprintf("RUN %d", i+1); p.Output != want {
			t.Fatalf("packet %d = %q, want %q: lost, repeated or reordered", i, p.Output, want)
		}
	}
}

// An empty or cut-short file, as a half-finished config management run
// leaves it, is not applied: the running config goes on, and the error says
// why.
func TestReloadRefusesAHalfWrittenFile(t *testing.T) {
	dir := t.TempDir()
	rcv := startReceiver(t, "127.0.0.1:0")
	cfg := writeConfig(t, dir, rcv.addr, counterCheck+"\n[health]\nenabled = false\n")
	ag := startAgent(t, cfg)
	rcv.wait(t, 1)
	good, _ := os.ReadFile(cfg)
	for _, bad := range [][]byte{nil, good[:len(good)-1]} {
		os.WriteFile(cfg, bad, 0o600)
		err := ag.Reload("")
		if err == nil || !strings.Contains(err.Error(), "as a write that stopped half-way leaves it") {
			t.Errorf("Reload of %d bytes = %v, want it refused", len(bad), err)
		}
		if n := len(ag.Config().Targets); n != 1 {
			t.Errorf("the running config lost its target: %d targets", n)
		}
	}
	n := len(rcv.wait(t, 1))
	wantRuns(t, rcv.wait(t, n+2)) // still checking, still sending
}

// A target that leaves the config and comes back resumes from its own
// cursor: what it missed meanwhile arrives, what it had does not arrive
// again.
func TestTargetThatComesBackResumes(t *testing.T) {
	dir := t.TempDir()
	rcv := startReceiver(t, "127.0.0.1:0")
	rest := counterCheck + "\n[health]\nenabled = false\n[spool]\nflush_interval = \"50ms\"\n"
	cfg := writeConfig(t, dir, rcv.addr, rest)
	ag := startAgent(t, cfg)
	rcv.wait(t, 2)

	writeConfig(t, dir, "", rest) // a valid config without the target
	if err := ag.Reload(""); err != nil {
		t.Fatal(err)
	}
	stopped := len(rcv.wait(t, 1))
	time.Sleep(2500 * time.Millisecond) // two or three results for no one
	if n := len(rcv.wait(t, 1)); n > stopped+1 {
		t.Fatalf("a target no longer configured still got results: %d, had %d", n, stopped)
	}
	if _, ok := ag.spool.Stats().Cursors[(&config.Target{Address: rcv.addr}).Cursor()]; !ok {
		t.Fatal("the cursor of the removed target is gone: it would start again from the oldest result")
	}

	writeConfig(t, dir, rcv.addr, rest)
	if err := ag.Reload(""); err != nil {
		t.Fatal(err)
	}
	got := rcv.wait(t, stopped+3)
	wantRuns(t, got)
}
