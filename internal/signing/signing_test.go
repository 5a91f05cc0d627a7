package signing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func newKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub, key
}

// sampleFile stands for an externals file: the scheme signs bytes.
const sampleFile = "[[check]]\nservice = \"disk\"\ncommand = \"check_disk -w 10% -c 5% -p /\"\n"

func TestSignVerifyV1(t *testing.T) {
	pub, key := newKey(t)
	otherPub, _ := newKey(t)
	data := []byte(sampleFile)
	sig := SignV1(key, "web01", data)
	if !bytes.HasSuffix(sig, []byte("\n")) || len(bytes.TrimSpace(sig)) != 88 {
		t.Fatalf("signature file %q: want 88 base64 characters and a newline", sig)
	}
	if err := VerifyV1(pub, "web01", data, sig); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	// The header form has no newline; CRLF from an editor is fine too.
	if err := VerifyV1(pub, "web01", data, bytes.TrimSpace(sig)); err != nil {
		t.Errorf("without newline: %v", err)
	}
	if err := VerifyV1(pub, "web01", data, append(bytes.TrimSpace(sig), '\r', '\n')); err != nil {
		t.Errorf("with CRLF: %v", err)
	}

	tampered := bytes.Replace(data, []byte("10%"), []byte("90%"), 1)
	bad := []struct {
		name string
		pub  ed25519.PublicKey
		host string
		data []byte
		sig  []byte
		want string
	}{
		{"other host", pub, "web02", data, sig, "does not match"},
		{"tampered data", pub, "web01", tampered, sig, "does not match"},
		{"wrong key", otherPub, "web01", data, sig, "does not match"},
		{"empty", pub, "web01", data, []byte("\n"), "empty"},
		{"not base64", pub, "web01", data, []byte("!!!!\n"), "base64"},
		{"short", pub, "web01", data, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), "32 bytes"},
		{"bad public key", pub[:16], "web01", data, sig, "public key"},
		// Host and data are separated, so moving bytes between them
		// does not keep a signature valid.
		{"shifted boundary", pub, "web0", append([]byte("1"), data...), sig, "does not match"},
	}
	for _, b := range bad {
		err := VerifyV1(b.pub, b.host, b.data, b.sig)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err = %v, want %q", b.name, err, b.want)
		}
	}
}

func TestPublicKeyFormat(t *testing.T) {
	pub, _ := newKey(t)
	s := FormatPublicKey(pub)
	if !strings.HasPrefix(s, "ed25519:") {
		t.Fatalf("%q", s)
	}
	got, err := ParsePublicKey(" " + s + "\n")
	if err != nil || !got.Equal(pub) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	b64 := strings.TrimPrefix(s, "ed25519:")
	for _, in := range []string{
		"", b64, "rsa:" + b64, "ed25519:", "ed25519:!!" + b64[2:],
		"ed25519:" + strings.TrimRight(b64, "="), // unpadded
		"ed25519:" + base64.StdEncoding.EncodeToString(make([]byte, 31)),
		"ed25519:" + base64.StdEncoding.EncodeToString(make([]byte, 64)),
		"ED25519:" + b64,
	} {
		if k, err := ParsePublicKey(in); err == nil {
			t.Errorf("ParsePublicKey(%q) = %v, want an error", in, k)
		}
	}
}

func TestSigningKeyFile(t *testing.T) {
	pub, key := newKey(t)
	path := filepath.Join(t.TempDir(), "externals.key")
	if err := WriteSigningKey(path, key); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !bytes.HasPrefix(data, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("key file:\n%s", data)
	}
	if runtime.GOOS != "windows" {
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", st.Mode().Perm())
		}
	}
	got, err := ReadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(key) || !got.Public().(ed25519.PublicKey).Equal(pub) {
		t.Error("key changed on the way through the file")
	}

	// An existing key is never replaced.
	_, other := newKey(t)
	if err := WriteSigningKey(path, other); !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwrite: err = %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Error("refused overwrite still changed the file")
	}

	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSigningKey(path); err == nil || !strings.Contains(err.Error(), "readable by every user") {
			t.Errorf("world-readable key: err = %v", err)
		}
		// Group-readable is how a service account shares it.
		os.Chmod(path, 0o640)
		if _, err := ReadSigningKey(path); err != nil {
			t.Errorf("0640 key: %v", err)
		}
	}

	notKey := filepath.Join(t.TempDir(), "not.key")
	os.WriteFile(notKey, []byte("hello\n"), 0o600)
	if _, err := ReadSigningKey(notKey); err == nil || !strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("not a key: err = %v", err)
	}
	if _, err := ReadSigningKey(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: err = %v", err)
	}
}

func FuzzParsePublicKey(f *testing.F) {
	pub, _, _ := GenerateKey()
	f.Add(FormatPublicKey(pub))
	f.Add("ed25519:")
	f.Add("ed25519:====")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePublicKey(s)
		if err != nil {
			return
		}
		if len(k) != ed25519.PublicKeySize {
			t.Fatalf("%q gave a %d-byte key", s, len(k))
		}
		if again, err := ParsePublicKey(FormatPublicKey(k)); err != nil || !again.Equal(k) {
			t.Fatalf("%q does not round-trip: %v", s, err)
		}
	})
}

func FuzzVerifyV1(f *testing.F) {
	pub, key, _ := GenerateKey()
	data := []byte(sampleFile)
	f.Add([]byte(sampleFile), "web01", SignV1(key, "web01", data))
	f.Add([]byte(""), "h", []byte("\n"))
	f.Add([]byte("x"), "h", []byte("AAAA\r\nAAAA"))
	f.Fuzz(func(t *testing.T, d []byte, host string, sig []byte) {
		err := VerifyV1(pub, host, d, sig)
		// Only the one signature made here may verify.
		if err == nil && (host != "web01" || !bytes.Equal(d, data)) {
			t.Fatalf("forged: host %q, data %q, sig %q", host, d, sig)
		}
	})
}
