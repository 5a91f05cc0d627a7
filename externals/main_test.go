package externals

import (
	"crypto/ed25519"
	"os"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/leaktest"
	"github.com/picket-monitoring/picket/internal/signing"
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

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub, key
}
