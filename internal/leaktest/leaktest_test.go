package leaktest

import (
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
