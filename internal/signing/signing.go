package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// signContext starts every v1 signed message; the version keeps one
// scheme from ever being confused with another.
const signContext = "picket-externals-v1\x00"

// publicKeyPrefix names the algorithm in a written public key, so a key
// of another kind is refused rather than misread.
const publicKeyPrefix = "ed25519:"

// MaxSigSize bounds a signature file or header: 88 bytes of base64 is a
// signature, the rest is slack for whitespace.
const MaxSigSize = 4 << 10

func signedMessage(host string, data []byte) []byte {
	m := make([]byte, 0, len(signContext)+len(host)+1+len(data))
	m = append(m, signContext...)
	m = append(m, host...)
	m = append(m, 0)
	return append(m, data...)
}

// GenerateKey makes a new signing key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// SignV1 signs data as the externals of host with the first scheme, which
// has no serial, and returns the content of a v1 signature file: the
// signature in standard base64 and a newline. picket server still signs
// v1 for agents that do not announce v2 (older versions); key must be a
// complete Ed25519 private key (from GenerateKey or ReadSigningKey).
func SignV1(key ed25519.PrivateKey, host string, data []byte) []byte {
	sig := ed25519.Sign(key, signedMessage(host, data))
	return append(base64.StdEncoding.AppendEncode(nil, sig), '\n')
}

// VerifyV1 checks a v1 sig (a signature file's content or the header's
// value; surrounding whitespace is ignored) over data as the externals of
// host. A v1 signature says nothing of when it was made, so an older file
// verifies as well as the current one: the agent trusts it only for its
// own cache, never from the network.
func VerifyV1(pub ed25519.PublicKey, host string, data, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("public key is %d bytes, not %d", len(pub), ed25519.PublicKeySize)
	}
	s := bytes.TrimSpace(sig)
	if len(s) == 0 {
		return errors.New("signature is empty")
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(raw, s)
	if err != nil {
		return fmt.Errorf("signature is not standard base64: %w", err)
	}
	if n != ed25519.SignatureSize {
		return fmt.Errorf("signature is %d bytes, not %d", n, ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, signedMessage(host, data), raw[:n]) {
		return fmt.Errorf("signature does not match: the file changed after it was signed, was signed for another host than %s, or with another key than %s", host, FormatPublicKey(pub))
	}
	return nil
}

// FormatPublicKey writes pub as the agent's config takes it.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a key written by FormatPublicKey.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	b64, ok := strings.CutPrefix(s, publicKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("public key %q: want %q followed by the key in base64", s, publicKeyPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("public key %q: not standard base64: %w", s, err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %q: %d bytes, an Ed25519 key is %d", s, len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// Fingerprint names a public key briefly and safely for logs, configs and
// signature lines: "SHA256:" and the unpadded base64 of the key's SHA-256,
// the way OpenSSH shows keys.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}
