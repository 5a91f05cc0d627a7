package plugins

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
