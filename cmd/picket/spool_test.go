package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/spool"
)

// spoolEnv is an agent config with two target groups and a spool holding
// five results, of which the first group has received two.
func spoolEnv(t *testing.T) (cfg string) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "picket.toml")
	src := fmt.Sprintf(`hostname = "web01"
spool_dir = %q
state_dir = %q

[[target]]
address = "a.example.com:5667"
encryption = "none"
group = "dc1"

[[target]]
address = "b.example.com:5667"
encryption = "none"
group = "dc1"

[[target]]
address = "c.example.com:5667"
encryption = "none"
`, filepath.Join(dir, "spool"), filepath.Join(dir, "state"))
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5 {
		r := check.Result{Host: "web01", Service: fmt.Sprintf("svc%d", i), State: check.Warning,
			Output: fmt.Sprintf("result %d", i), CheckTime: time.Now()}
		b, _ := r.MarshalBinary()
		if _, err := s.Append(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit("group.dc1", 2); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSpoolStats(t *testing.T) {
	cfg := spoolEnv(t)
	code, out, errs := run("spool", "stats", "--config", cfg)
	if code != 0 {
		t.Fatalf("code %d, stderr %s", code, errs)
	}
	for _, want := range []string{"5 results held", "a.example.com:5667, b.example.com:5667", "group.dc1", "c.example.com:5667"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run("spool", "stats", "--config", cfg, "--json")
	if code != 0 {
		t.Fatal(code)
	}
	queued := map[string]uint64{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		var j spoolTargetJSON
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatal(err)
		}
		queued[j.Cursor] = j.Queued
	}
	// dc1 has received two of five; c has never sent, so all five wait.
	if queued["group.dc1"] != 3 || queued["target.c.example.com_5667"] != 5 {
		t.Errorf("queued = %v", queued)
	}
}

func TestSpoolList(t *testing.T) {
	cfg := spoolEnv(t)
	code, out, errs := run("spool", "list", "--config", cfg, "--target", "dc1", "--limit", "2")
	if code != 0 {
		t.Fatalf("code %d, stderr %s", code, errs)
	}
	if !strings.Contains(out, "svc2") || !strings.Contains(out, "svc3") || strings.Contains(out, "svc1") || strings.Contains(out, "svc4") {
		t.Errorf("list for dc1 with limit 2 should show svc2 and svc3 only:\n%s", out)
	}
	code, out, _ = run("spool", "list", "--config", cfg, "--json", "--limit", "0")
	if code != 0 || strings.Count(out, "\n") != 5 || !strings.Contains(out, `"state":"WARNING"`) {
		t.Errorf("list --json of everything: code %d\n%s", code, out)
	}
	if code, _, errs := run("spool", "list", "--config", cfg, "--target", "nope:1"); code != exitUsage || !strings.Contains(errs, `no target "nope:1"`) {
		t.Errorf("unknown target: code %d, %s", code, errs)
	}
}

func TestSpoolPurgeAsksFirst(t *testing.T) {
	cfg := spoolEnv(t)
	var out, errb bytes.Buffer
	code := dispatch(context.Background(), []string{"spool", "purge", "--config", cfg, "--target", "a.example.com:5667"},
		stdio{strings.NewReader("n\n"), &out, &errb})
	if code != exitCritical || !strings.Contains(out.String(), "Give up 3 unsent results") || !strings.Contains(out.String(), "not purged") {
		t.Fatalf("declined purge: code %d, out %q, err %q", code, out.String(), errb.String())
	}
	out.Reset()
	code = dispatch(context.Background(), []string{"spool", "purge", "--config", cfg, "--target", "dc1"},
		stdio{strings.NewReader("y\n"), &out, &errb})
	if code != 0 || !strings.Contains(out.String(), "purged 3 results for dc1") {
		t.Fatalf("purge: code %d, out %q, err %q", code, out.String(), errb.String())
	}
	// c was not touched.
	_, stats, _ := run("spool", "stats", "--config", cfg, "--json")
	if !strings.Contains(stats, `"cursor":"group.dc1","queued":0`) || !strings.Contains(stats, `"cursor":"target.c.example.com_5667","queued":5`) {
		t.Errorf("after purge:\n%s", stats)
	}
	if code, _, errs := run("spool", "purge", "--config", cfg); code != exitUsage || !strings.Contains(errs, "--target is required") {
		t.Errorf("purge without target: code %d, %s", code, errs)
	}
}

// purge needs the spool to itself: a running agent holds it.
func TestSpoolPurgeRefusedWhileAgentHoldsSpool(t *testing.T) {
	cfg := spoolEnv(t)
	s, err := spool.Open(filepath.Join(filepath.Dir(cfg), "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	code, _, errs := run("spool", "purge", "--config", cfg, "--target", "dc1", "--yes")
	if code != exitCritical || !strings.Contains(errs, "stop the agent first") {
		t.Errorf("code %d, stderr %q", code, errs)
	}
	// stats still work meanwhile.
	if code, out, errs := run("spool", "stats", "--config", cfg); code != 0 || !strings.Contains(out, "5 results held") {
		t.Errorf("stats while locked: code %d, %s %s", code, out, errs)
	}
}
