package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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
