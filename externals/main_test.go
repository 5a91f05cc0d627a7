package externals

import (
	"os"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/leaktest"
)

// TestMain fails the run if a test left a goroutine of this package
// behind: a Fetch must not leave anything running after it returns.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if g := leaktest.Find("github.com/picket-monitoring/picket/externals", 5*time.Second); g != "" {
			os.Stderr.WriteString("leaked goroutine:\n" + g + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
