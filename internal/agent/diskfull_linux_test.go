package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/nsca"
)

// mountTmpfs mounts a tmpfs of size bytes at dir until the test ends: a
// disk that really fills up.
func mountTmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	if testing.Short() {
		t.Skip("mounts a tmpfs: not under -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a tmpfs to fill a real disk: run it as root (make test does)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Fatalf("mount a tmpfs at %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// fill writes into dir until the disk is full, and returns the file.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return p
			}
			t.Fatal(err)
		}
	}
}

// A full disk: the checks go on, the agent's own service turns CRITICAL at
// its next report although the spool cannot store it, every result that
// did not fit is counted as lost (exactly: the runs missing at the target),
// and storing resumes by itself when space returns.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	fs := filepath.Join(dir, "fs")
	mountTmpfs(t, fs, 1<<20)
	rcv := startReceiver(t, "127.0.0.1:0")
	src := `hostname = "web01"
plugin_dirs = ["` + filepath.Join(dir, "plugins") + `"]
spool_dir = "` + filepath.Join(fs, "spool") + `"
state_dir = "` + filepath.Join(dir, "state") + `"
[macros]
USER2 = "` + filepath.Join(dir, "count") + `"
[spool]
flush_interval = "50ms"
[[target]]
address = "` + rcv.addr + `"
encryption = "none"
` + strings.Replace(counterCheck, `"counter `, `"bigcounter `, 1)
	writeConfig(t, dir, "", "") // the plugins folder
	// Its results are larger than a page: none fits into what is left of
	// the spool's last page once the disk is full, as small ones might
	// for a while (the agent's own results would then fail alone).
	big := counterPlugin + "head -c 5000 /dev/zero | tr '\\0' x; echo\n"
	if err := os.WriteFile(filepath.Join(dir, "plugins", "bigcounter"), []byte(big), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "picket.toml")
	os.WriteFile(cfg, []byte(src), 0o600)
	ag, err := New(Options{ConfigPath: cfg, StatsEvery: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { ag.serve(ctx); close(served) }()
	defer func() { cancel(); <-served; ag.Stop() }()
	rcv.waitRun(t, 2)

	filler := fill(t, fs)
	waitOwn(t, rcv, "picket_spooler", "the spool cannot store results: disk full")
	before := ag.poller.Stats().Completed
	time.Sleep(2500 * time.Millisecond)
	if after := ag.poller.Stats().Completed; after < before+2 {
		t.Errorf("the checks stopped while the disk was full: %d runs, then %d", before, after)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitOwn(t, rcv, "picket_spooler", "not stored: disk full")
	got := rcv.waitRun(t, lastRun(rcv)+1) // storing resumed by itself
	missing := 0
	seen := map[string]bool{}
	for _, p := range got {
		if first, _, _ := strings.Cut(p.Output, "\n"); p.Service == "counter" {
			seen[first] = true
		}
	}
	for i := 1; i <= lastRun(rcv); i++ {
		if !seen[fmt.Sprintf("RUN %d", i)] {
			missing++
		}
	}
	lost := uint64(0)
	for _, e := range ag.losses.active(time.Now(), time.Hour) {
		lost += e.Results
	}
	if missing == 0 || lost != uint64(missing) {
		t.Errorf("%d runs never reached the target, the agent counts %d lost", missing, lost)
	}
	// The next reports say so, with the count.
	waitOwn(t, rcv, "picket_spooler", fmt.Sprintf("%s lost: %d not stored: disk full (every target, checked ", results(lost), lost))
	t.Logf("disk full: %d results lost and counted, %d delivered", missing, len(seen))
}

// waitRun waits for the counter's RUN n and returns everything received.
func (r *receiver) waitRun(t *testing.T, n int) []nsca.Packet {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for lastRun(r) < n {
		if time.Now().After(deadline) {
			t.Fatalf("RUN %d did not arrive; last was RUN %d", n, lastRun(r))
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]nsca.Packet(nil), r.got...)
}

// lastRun is the highest RUN the receiver has seen.
func lastRun(r *receiver) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	last := 0
	for _, p := range r.got {
		var n int
		if _, err := fmt.Sscanf(p.Output, "RUN %d", &n); err == nil && p.Service == "counter" {
			last = max(last, n)
		}
	}
	return last
}
