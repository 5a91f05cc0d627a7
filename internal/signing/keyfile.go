package signing

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/picket-monitoring/picket/internal/atomicfile"
)

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

// LoadOrCreateKey reads the Ed25519 key at path, or makes one there (mode
// 0600) when there is none: an agent's identity, made on the host the
// first time it registers and never sent anywhere. created says which.
// Two agents racing to create it end up with the same key: the loser of
// the exclusive create reads the winner's.
func LoadOrCreateKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	key, err = ReadSigningKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("create key %s: %w", path, err)
	}
	_, key, err = GenerateKey()
	if err != nil {
		return nil, false, fmt.Errorf("create key %s: %w", path, err)
	}
	if err := WriteSigningKey(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			key, err = ReadSigningKey(path)
			return key, false, err
		}
		return nil, false, err
	}
	return key, true, nil
}
