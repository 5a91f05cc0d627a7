package hub

import (
	"os"
	"testing"

	"github.com/picket-monitoring/picket/internal/leaktest"
)

// A server started by a test without its own state_dir would write into
// the host's /var/lib/picket/server.
func TestMain(m *testing.M) { os.Exit(leaktest.HostStateUntouched(m.Run)) }
