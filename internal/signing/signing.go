package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/picket-monitoring/picket/internal/atomicfile"
)

// signContext starts every signed message; the version lets a future
// scheme never be confused with this one.
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

// Sign signs data as the externals of host and returns the content of
// the signature file: the signature in standard base64 and a newline.
// key must be a complete Ed25519 private key (from GenerateKey or
// ReadSigningKey).
func Sign(key ed25519.PrivateKey, host string, data []byte) []byte {
	sig := ed25519.Sign(key, signedMessage(host, data))
	return append(base64.StdEncoding.AppendEncode(nil, sig), '\n')
}

// Verify checks sig (a signature file's content or the header's value;
// surrounding whitespace is ignored) over data as the externals of host.
func Verify(pub ed25519.PublicKey, host string, data, sig []byte) error {
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

// WriteSigningKey stores key as PKCS#8 PEM (which openssl reads too),
// readable by its owner only. It never overwrites a file: replacing a key
// makes every agent configured with the old public key refuse externals.
func WriteSigningKey(path string, key ed25519.PrivateKey) (err error) {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("write signing key %s: private key is %d bytes, not %d", path, len(key), ed25519.PrivateKeySize)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("write signing key %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write signing key: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		return fmt.Errorf("write signing key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write signing key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write signing key %s: %w", path, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("write signing key %s: %w", path, err)
	}
	return nil
}

// ReadSigningKey loads a key written by WriteSigningKey (or by openssl
// genpkey -algorithm ed25519). A key file every user can read is refused:
// whoever holds the key decides what every agent runs.
func ReadSigningKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	// Windows guards files with ACLs, which the mode bits do not show.
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o004 != 0 {
		return nil, fmt.Errorf("read signing key %s: readable by every user (mode %04o): chmod o-r %s", path, st.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read signing key %s: %w", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("read signing key %s: not a PEM \"PRIVATE KEY\" (PKCS#8) file", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read signing key %s: a %T, not an Ed25519 key", path, k)
	}
	return key, nil
}
