package externals

import (
	"crypto/ed25519"
	"os"
	"sync/atomic"
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

// serials gives every signature a test makes a higher serial than the one
// before, as picket server does.
var serials atomic.Uint64

// sig2 is the v2 signature file picket server writes for data.
func sig2(key ed25519.PrivateKey, host string, data []byte) []byte {
	return signing.SignExternals(key, host, serials.Add(1), "", data).File()
}

func trust(keys ...ed25519.PublicKey) []ed25519.PublicKey { return keys }
