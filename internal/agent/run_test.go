package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/leaktest"
)

func TestMain(m *testing.M) {
	code := m.Run()
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
	cfg := filepath.Join(t.TempDir(), "picket.toml")
	src := `hostname = "web01"
plugin_dirs = ["` + t.TempDir() + `"]

[[target]]
address = "` + rcv.addr + `"
encryption = "none"

[[check]]
service = "echo"
command = "echo 'ECHO OK | n=1'"
shell = true
interval = "1s"
`
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{ConfigPath: cfg, StatsEvery: 200 * time.Millisecond}) }()

	seen := map[string]string{}
	deadline := time.Now().Add(20 * time.Second)
	for seen["echo"] == "" || seen["picket_poller"] == "" {
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
	if seen["echo"] != "ECHO OK | n=1" || !strings.HasPrefix(seen["picket_poller"], "POLLER OK - 1 checks") {
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

func TestRunRefusesConfigWithoutTargets(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "picket.toml")
	os.WriteFile(cfg, []byte("hostname = \"web01\"\n"), 0o600)
	err := Run(context.Background(), Options{ConfigPath: cfg})
	if err == nil || !strings.Contains(err.Error(), "no [[target]]") {
		t.Errorf("err = %v", err)
	}
}
