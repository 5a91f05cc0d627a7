package hub

import (
	"fmt"
	"os"
	"testing"

	"github.com/picket-monitoring/picket/internal/leaktest"
)

// A server started by a test without its own state_dir would write into
// the host's /var/lib/picket/server.
func TestMain(m *testing.M) {
	untouched := leaktest.Untouched(leaktest.HostState()...)
	code := m.Run()
	if made := untouched(); len(made) > 0 {
		fmt.Fprintf(os.Stderr, "a test wrote into the host's own picket state (a config without its own state_dir?): %v\n", made)
		code = 1
	}
	os.Exit(code)
}
