package plugins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/leaktest"
)

// fakes are the fake plugins this test binary plays when it is started
// under one of their names (busybox style); fakes_unix_test.go fills it.
var fakes = map[string]func(args []string) int{}

func TestMain(m *testing.M) {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	if fake, ok := fakes[name]; ok {
		// Not os.Exit: under -race it waits a second for race reports
		// (GORACE atexit_sleep_ms), which would make every fake slow.
		syscall.Exit(fake(os.Args[1:]))
	}
	code := m.Run()
	if code == 0 {
		if g := leaktest.Find("github.com/picket-monitoring/picket/plugins", 5*time.Second); g != "" {
			fmt.Fprintf(os.Stderr, "goroutine leaked by plugins:\n%s\n", g)
			code = 1
		}
	}
	os.Exit(code)
}

// pluginDir returns a new plugin folder holding the named fake plugins, as
// symlinks to this test binary.
func pluginDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	addFakes(t, dir, names...)
	return dir
}

func addFakes(t *testing.T, dir string, names ...string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.Symlink(self, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
}

// runGuarded runs c and fails the test if the run does not end within
// guard. guard is a failure guard for a hung run, never a timing
// assertion: make it generous.
func runGuarded(t *testing.T, ctx context.Context, r *Runner, c check.Check, guard time.Duration) check.Result {
	t.Helper()
	done := make(chan check.Result, 1)
	go func() { done <- r.Run(ctx, c) }()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	select {
	case res := <-done:
		return res
	case <-timer.C:
		t.Fatalf("Run(%q) still running after %v", c.Command, guard)
		return check.Result{}
	}
}
