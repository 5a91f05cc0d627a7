package externals

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/signing"
)

// Keys are the server's externals signing keys.
type Keys struct {
	// Current signs every file written or served.
	Current ed25519.PrivateKey
	// Next, when set, is the key the server is rotating to: every
	// signature by Current announces it, and an agent that says it
	// trusts it (signing.TrustHeader) gets its files signed by it
	// instead, so the switch needs each agent's config touched once.
	Next ed25519.PrivateKey
}

// check refuses keys that are not complete Ed25519 private keys.
func (k *Keys) check() error {
	if k == nil {
		return nil
	}
	if len(k.Current) != ed25519.PrivateKeySize {
		return fmt.Errorf("signing key is %d bytes, not an Ed25519 private key", len(k.Current))
	}
	if k.Next != nil && len(k.Next) != ed25519.PrivateKeySize {
		return fmt.Errorf("next signing key is %d bytes, not an Ed25519 private key", len(k.Next))
	}
	return nil
}

func fingerprintOf(key ed25519.PrivateKey) string {
	if key == nil {
		return ""
	}
	pub, _ := key.Public().(ed25519.PublicKey)
	return signing.Fingerprint(pub)
}

// nextFingerprint is what Current's signatures announce.
func (k *Keys) nextFingerprint() string { return fingerprintOf(k.Next) }

// current reports whether sig, read from a host's .sig file, is what the
// server would write for data now: v2, by Current, announcing Next.
func (k *Keys) current(sigText []byte, host string, data []byte) (signing.Signature, bool) {
	s, err := signing.ParseSignature(sigText)
	if err != nil || s.Next != k.nextFingerprint() || s.Key != fingerprintOf(k.Current) {
		return s, false
	}
	pub, _ := k.Current.Public().(ed25519.PublicKey)
	_, err = s.Verify([]ed25519.PublicKey{pub}, host, data)
	return s, err == nil
}

// sign makes the stored signature of data for host, with a serial above
// prev's: nanoseconds of the server's clock, or one more than prev when
// that clock is behind, so a host's serials only ever grow.
func (k *Keys) sign(host string, prev []byte, data []byte, now time.Time) signing.Signature {
	serial := uint64(max(now.UnixNano(), 1))
	if old, err := signing.ParseSignature(prev); err == nil && old.Serial >= serial {
		serial = old.Serial + 1
	}
	return signing.SignExternals(k.Current, host, serial, k.nextFingerprint(), data)
}

// forRequest is the signature text r gets for data, whose stored v2
// signature is stored: an agent that sends no TrustHeader is older than
// v2 and gets v1; one that trusts Next gets stored's serial signed by
// Next; any other gets stored.
func (k *Keys) forRequest(r *http.Request, host string, data []byte, stored signing.Signature) string {
	trusted := trustedKeys(r)
	switch {
	case trusted == nil:
		return string(bytes.TrimSpace(signing.SignV1(k.Current, host, data)))
	case k.Next != nil && slices.Contains(trusted, fingerprintOf(k.Next)):
		return signing.SignExternals(k.Next, host, stored.Serial, "", data).String()
	}
	return stored.String()
}

// trustedKeys reads the fingerprints an agent trusts; nil when it does
// not say (an agent older than v2 signatures).
func trustedKeys(r *http.Request) []string {
	v := r.Header.Values(signing.TrustHeader)
	if len(v) == 0 {
		return nil
	}
	out := []string{}
	for _, line := range v {
		for _, f := range strings.Split(line, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// TrustHeaderValue is the TrustHeader an agent trusting keys sends.
func TrustHeaderValue(keys []ed25519.PublicKey) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = signing.Fingerprint(k)
	}
	return strings.Join(out, ", ")
}
