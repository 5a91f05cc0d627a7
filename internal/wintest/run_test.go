//go:build linux

package wintest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// picket send, the send_nsca drop-in, from Windows to the real nsca.
func TestSend(t *testing.T) {
	needLane(t)
	dir, _ := testDir(t)
	n := startNSCA(t, t.TempDir(), 0)
	cfg := filepath.Join(dir, "send_nsca.cfg")
	writeFile(t, cfg, fmt.Sprintf("password=%s\nencryption_method=%d\n", nscaPassword, nscaMethod), 0o600)
	in := "winhost\tdisk_c\t1\tWARNING - C: 91% used|c=91%\x17winhost\tmem\t0\tOK - Größe\x17"
	r := wine(t, []byte(in), lane.picket, "send", "-H", "127.0.0.1", "-p", strconv.Itoa(n.Port), "-c", winPath(cfg))
	if r.Code != 0 || !strings.Contains(r.Stdout, "2 data packet(s) sent") {
		t.Fatalf("picket send: %v", r)
	}
	if got := n.WaitResults(t, "winhost", "disk_c", 1); got[0] != "1;WARNING - C: 91% used|c=91%" {
		t.Errorf("disk_c at nsca: %q", got)
	}
	if got := n.WaitResults(t, "winhost", "mem", 1); got[0] != "0;OK - Größe" {
		t.Errorf("mem at nsca: %q", got)
	}
}

// counterCheck is a plugin folder (top-level) and a [[check]] whose output
// carries its run number, kept in a file, so every result at nsca can be
// told apart.
func counterCheck(t *testing.T, dir, service string) (top, table string) {
	t.Helper()
	if err := copyFile(lane.wtool, filepath.Join(dir, "plugins", "check_x.exe")); err != nil {
		t.Fatal(err)
	}
	top = fmt.Sprintf("plugin_dirs = ['%s']\n", winPath(filepath.Join(dir, "plugins")))
	table = fmt.Sprintf(`[[check]]
service = %q
command = 'check_x plugin -count "%s" "OK - run {n}"'
interval = "1s"
`, service, winPath(filepath.Join(dir, "count.txt")))
	return top, table
}

// runNumbers reads the run numbers out of results "0;OK - run N".
func runNumbers(t *testing.T, results []string) []int {
	t.Helper()
	var out []int
	for _, r := range results {
		_, num, ok := strings.Cut(r, "OK - run ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			t.Fatalf("result %q carries no run number", r)
		}
		out = append(out, n)
	}
	return out
}

// picket run with its spool across a kill -9 of picket.exe while the server
// is down: what the spool held is delivered after the restart, and nothing
// is delivered twice.
func TestRunSpoolAcrossKill9(t *testing.T) {
	needLane(t)
	dir, _ := testDir(t)
	nscaDir := t.TempDir()
	n := startNSCA(t, nscaDir, 0)
	top, table := counterCheck(t, dir, "counter")
	_, cfgWin := agentConfig(t, dir, "winhost", n.Port, top, table)

	agent := startWine(t, lane.picket, "run", "--config", cfgWin)
	waitFor(t, func() string { return "no results at nsca; agent log:\n" + agent.log.String() },
		func() bool { return len(n.Results(t, "winhost", "counter")) >= 2 })

	// The server goes away; results pile up in the spool.
	n.Stop()
	count := func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "count.txt"))
		v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return v
	}
	before := count()
	waitFor(t, func() string { return "the agent ran no checks while nsca was down:\n" + agent.log.String() },
		func() bool { return count() >= before+4 })
	agent.kill()
	if !agent.exited() {
		t.Fatal("picket.exe survived SIGKILL")
	}
	ran := count()
	delivered := runNumbers(t, n.Results(t, "winhost", "counter"))

	// What the spool holds for the target, read by picket spool list.
	r := wine(t, nil, lane.picket, "spool", "list", "--config", cfgWin, "--json", "--target", fmt.Sprintf("127.0.0.1:%d", n.Port))
	if r.Code != 0 {
		t.Fatalf("picket spool list: %v", r)
	}
	var pending []int
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var rec struct {
			Service, State, Output string
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("spool list printed %q: %v", line, err)
		}
		if rec.Service == "counter" {
			pending = append(pending, runNumbers(t, []string{rec.Output})...)
		}
	}
	if len(pending) == 0 {
		t.Fatalf("the spool holds nothing for nsca after the outage: %v", r)
	}
	// Every run reached nsca or the spool; only a run in flight at the
	// kill (counted, never spooled) may be missing.
	all := append(slices.Clone(delivered), pending...)
	slices.Sort(all)
	for i, v := range all {
		if v != i+1 {
			t.Fatalf("runs 1..%d: delivered %v, spooled %v: run %d is neither", ran, delivered, pending, i+1)
		}
	}
	if len(all) < ran-1 {
		t.Fatalf("%d runs, but only %d delivered or spooled (%v, %v)", ran, len(all), delivered, pending)
	}

	// The server and the agent come back.
	n = startNSCA(t, nscaDir, n.Port)
	startWine(t, lane.picket, "run", "--config", cfgWin)
	maxPending := slices.Max(pending)
	var got []int
	waitFor(t, func() string {
		return fmt.Sprintf("spooled runs %v not all delivered after the restart: nsca has %v", pending, got)
	},
		func() bool {
			got = runNumbers(t, n.Results(t, "winhost", "counter"))
			return slices.Contains(got, maxPending+1) || len(got) >= len(all)+1
		})
	time.Sleep(2 * time.Second) // a duplicate would follow its original at once
	got = runNumbers(t, n.Results(t, "winhost", "counter"))
	seen := map[int]bool{}
	for _, v := range got {
		if seen[v] {
			t.Errorf("run %d delivered twice: %v", v, got)
		}
		seen[v] = true
	}
	for _, v := range pending {
		if !seen[v] {
			t.Errorf("spooled run %d lost across kill -9: nsca has %v", v, got)
		}
	}
	t.Logf("%d runs before kill -9: %d delivered, %d spooled and delivered after the restart; %d results at nsca, none twice",
		ran, len(delivered), len(pending), len(got))
}
