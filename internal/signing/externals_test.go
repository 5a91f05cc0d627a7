package signing

import (
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestExternalsV2RoundTrip(t *testing.T) {
	pub, key := newKey(t)
	nextPub, nextKey := newKey(t)
	otherPub, _ := newKey(t)
	data := []byte(sampleFile)
	s := SignExternals(key, "web01", 42, Fingerprint(nextPub), data)
	line := s.String()
	if !strings.HasPrefix(line, "v2 serial=42 key="+Fingerprint(pub)+" next="+Fingerprint(nextPub)+" sig=") || strings.Contains(line, "\n") {
		t.Fatalf("line %q", line)
	}
	got, err := ParseSignature(s.File())
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != 42 || got.Key != Fingerprint(pub) || got.Next != Fingerprint(nextPub) {
		t.Errorf("parsed %+v", got)
	}
	k, err := got.Verify([]ed25519.PublicKey{otherPub, pub}, "web01", data)
	if err != nil || !k.Equal(pub) {
		t.Fatalf("Verify = %v, %v", k, err)
	}

	// The next key's own signature says nothing about a next one.
	s2 := SignExternals(nextKey, "web01", 43, "", data)
	if _, err := s2.Verify([]ed25519.PublicKey{pub, nextPub}, "web01", data); err != nil {
		t.Errorf("next key: %v", err)
	}

	// Everything signed is bound: host, serial, next, data.
	for _, tt := range []struct {
		name string
		mod  func(*Signature) ([]ed25519.PublicKey, string, []byte)
		want string
	}{
		{"other host", func(s *Signature) ([]ed25519.PublicKey, string, []byte) {
			return []ed25519.PublicKey{pub}, "web02", data
		}, "does not match"},
		{"older serial", func(s *Signature) ([]ed25519.PublicKey, string, []byte) {
			s.Serial = 41
			return []ed25519.PublicKey{pub}, "web01", data
		}, "does not match"},
		{"next removed", func(s *Signature) ([]ed25519.PublicKey, string, []byte) {
			s.Next = ""
			return []ed25519.PublicKey{pub}, "web01", data
		}, "does not match"},
		{"tampered", func(s *Signature) ([]ed25519.PublicKey, string, []byte) {
			return []ed25519.PublicKey{pub}, "web01", append([]byte("#"), data...)
		}, "does not match"},
		{"untrusted key", func(s *Signature) ([]ed25519.PublicKey, string, []byte) {
			return []ed25519.PublicKey{otherPub}, "web01", data
		}, "not among the trusted"},
		{"key unnamed, wrong", func(s *Signature) ([]ed25519.PublicKey, string, []byte) {
			s.Key = ""
			return []ed25519.PublicKey{otherPub}, "web01", data
		}, "does not match"},
		{"no keys", func(s *Signature) ([]ed25519.PublicKey, string, []byte) { return nil, "web01", data }, "no public key"},
	} {
		c := got
		keys, host, d := tt.mod(&c)
		if _, err := c.Verify(keys, host, d); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	// Without key=, every trusted key is tried.
	c := got
	c.Key = ""
	if _, err := c.Verify([]ed25519.PublicKey{otherPub, pub}, "web01", data); err != nil {
		t.Errorf("unnamed key: %v", err)
	}
}

func TestParseSignatureErrors(t *testing.T) {
	_, key := newKey(t)
	v1 := SignV1(key, "web01", []byte(sampleFile))
	if _, err := ParseSignature(v1); !errors.Is(err, ErrV1) {
		t.Errorf("v1: err = %v", err)
	}
	good := SignExternals(key, "h", 1, "", nil).String()
	sig := good[strings.Index(good, "sig="):]
	for _, tt := range []struct{ in, want string }{
		{"", "empty"},
		{"hello", "not a v2"},
		{"v2 serial=1", "required"},
		{"v2 " + sig, "required"},
		{"v2 serial=x " + sig, "whole number"},
		{"v2 serial=-1 " + sig, "whole number"},
		{"v2 serial=1 serial=2 " + sig, "each key once"},
		{"v2 serial=1 bogus " + sig, "key=value"},
		{"v2 serial=1 extra=1 " + sig, "unknown field"},
		{"v2 serial=1 sig=!!!", "base64"},
		{"v2 serial=1 sig=AAAA", "3 bytes"},
	} {
		if _, err := ParseSignature([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.in, err, tt.want)
		}
	}
	if s, err := ParseSignature([]byte("  " + good + "\r\n")); err != nil || s.Serial != 1 {
		t.Errorf("whitespace: %+v %v", s, err)
	}
}

func TestFingerprint(t *testing.T) {
	pub, _ := newKey(t)
	fp := Fingerprint(pub)
	if !strings.HasPrefix(fp, "SHA256:") || len(fp) != len("SHA256:")+43 || strings.Contains(fp, "=") {
		t.Errorf("fingerprint %q", fp)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "identity.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || !k1.Equal(k2) {
		t.Fatalf("load: same key %v, created %v, %v", k1.Equal(k2), created, err)
	}
}

func FuzzParseSignature(f *testing.F) {
	pub, key, _ := GenerateKey()
	data := []byte(sampleFile)
	f.Add(SignExternals(key, "web01", 7, "", data).File())
	f.Add([]byte("v2 serial=1 key=SHA256:x next=y sig=AAAA"))
	f.Add(SignV1(key, "web01", data))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseSignature(in)
		if err != nil {
			return
		}
		again, err := ParseSignature([]byte(s.String()))
		if err != nil || again.Serial != s.Serial || again.Key != s.Key || again.Next != s.Next || string(again.Sig) != string(s.Sig) {
			t.Fatalf("%q does not round-trip: %+v %v", in, again, err)
		}
		// Only what was signed here verifies.
		if _, err := s.Verify([]ed25519.PublicKey{pub}, "web01", data); err == nil && (s.Serial != 7 || s.Next != "") {
			t.Fatalf("forged: %q", in)
		}
	})
}
