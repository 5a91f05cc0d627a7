package leaktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const self = "github.com/picket-monitoring/picket/internal/leaktest"

func blocked(started chan<- struct{}, release <-chan struct{}, done chan<- struct{}) {
	close(started)
	<-release
	close(done)
}

func TestFindReportsRunningGoroutineUntilItEnds(t *testing.T) {
	started, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go blocked(started, release, done)
	<-started
	if g := Find(self, 0); !strings.Contains(g, "leaktest.blocked") {
		t.Fatalf("running goroutine not found; got %q", g)
	}
	close(release)
	<-done
	if g := Find(self, 5*time.Second); g != "" {
		t.Errorf("ended goroutine still reported:\n%s", g)
	}
}

func TestUntouched(t *testing.T) {
	dir := t.TempDir()
	had, made := filepath.Join(dir, "had"), filepath.Join(dir, "made")
	if err := os.Mkdir(had, 0o700); err != nil {
		t.Fatal(err)
	}
	check := Untouched(had, made)
	if got := check(); len(got) != 0 {
		t.Errorf("nothing made yet, got %v", got)
	}
	if err := os.Mkdir(made, 0o700); err != nil {
		t.Fatal(err)
	}
	if got := check(); len(got) != 1 || got[0] != made {
		t.Errorf("got %v, want [%s]", got, made)
	}
}
