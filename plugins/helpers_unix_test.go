//go:build unix

package plugins

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

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
