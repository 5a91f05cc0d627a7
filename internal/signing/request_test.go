package signing

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRequestSignature(t *testing.T) {
	pub, key := newKey(t)
	otherPub, _ := newKey(t)
	s := NewSigner("web01", key)
	body := []byte(`{"hostname":"web01"}`)
	r := httptest.NewRequest(http.MethodPost, "https://hub.example.com/picket/v1/register", bytes.NewReader(body))
	if err := s.Sign(r, body); err != nil {
		t.Fatal(err)
	}
	if v := r.Header.Get(AuthHeader); !strings.HasPrefix(v, "v1 host=web01 ts=") {
		t.Fatalf("header %q", v)
	}
	// A reverse proxy took the prefix off: the signature still holds.
	srv := r.Clone(r.Context())
	srv.URL.Path = "/v1/register"
	a, err := ParseRequestAuth(srv, body)
	if err != nil {
		t.Fatal(err)
	}
	if a.Host != "web01" || a.Verify(pub) != nil || a.Fresh(time.Now()) != nil {
		t.Fatalf("auth %+v: verify %v, fresh %v", a, a.Verify(pub), a.Fresh(time.Now()))
	}
	if err := a.Verify(otherPub); err == nil {
		t.Error("verified with another key")
	}
	if err := a.Fresh(time.Now().Add(MaxClockSkew + time.Minute)); err == nil {
		t.Error("an old signature is fresh")
	}
	if err := a.Fresh(time.Now().Add(-MaxClockSkew - time.Minute)); err == nil {
		t.Error("a signature from the future is fresh")
	}

	// Whatever is covered cannot change.
	for _, tt := range []struct {
		name string
		mod  func(r *http.Request) []byte
	}{
		{"body", func(r *http.Request) []byte { return []byte(`{"hostname":"web02"}`) }},
		{"method", func(r *http.Request) []byte { r.Method = http.MethodPut; return body }},
		{"endpoint", func(r *http.Request) []byte { r.URL.Path = "/externals/web01.toml"; return body }},
		{"host", func(r *http.Request) []byte {
			r.Header.Set(AuthHeader, strings.Replace(r.Header.Get(AuthHeader), "host=web01", "host=web02", 1))
			return body
		}},
		{"time", func(r *http.Request) []byte {
			v := r.Header.Get(AuthHeader)
			i := strings.Index(v, "ts=")
			r.Header.Set(AuthHeader, v[:i+3]+"1"+v[i+3:])
			return body
		}},
	} {
		c := r.Clone(r.Context())
		b := tt.mod(c)
		a, err := ParseRequestAuth(c, b)
		if err == nil {
			err = a.Verify(pub)
		}
		if err == nil {
			t.Errorf("%s changed and the signature still verifies", tt.name)
		}
	}
}

func TestParseRequestAuthErrors(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/externals/web01.toml", nil)
	if _, err := ParseRequestAuth(r, nil); !errors.Is(err, ErrNoAuth) {
		t.Errorf("no header: %v", err)
	}
	sig := "sig=" + strings.Repeat("A", 86) + "=="
	for _, tt := range []struct{ v, want string }{
		{"Bearer x", "not a v1"},
		{"v1 host=a ts=1 nonce=n", "required"},
		{"v1 host=a ts=x nonce=n " + sig, "whole number"},
		{"v1 host=a ts=1 nonce=n sig=AAAA", "not a base64 Ed25519"},
		{"v1 host=a host=b ts=1 nonce=n " + sig, "each key once"},
		{"v1 host=a ts=1 nonce=n what=1 " + sig, "unknown field"},
		{"v1 host=a ts=1 nonce=" + strings.Repeat("n", 65) + " " + sig, "longer than 64"},
	} {
		r.Header.Set(AuthHeader, tt.v)
		if _, err := ParseRequestAuth(r, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.v, err, tt.want)
		}
	}
}

// The transport signs each attempt anew, leaves the caller's request alone
// and learns the server's clock.
func TestSigningTransport(t *testing.T) {
	pub, key := newKey(t)
	var mu sync.Mutex
	var nonces []string
	var verr error
	serverTime := time.Now().Add(2 * time.Hour)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a, err := ParseRequestAuth(r, body)
		if err == nil {
			err = a.Verify(pub)
		}
		mu.Lock()
		if err != nil {
			verr = err
		} else {
			nonces = append(nonces, a.Nonce)
			if ferr := a.Fresh(serverTime); ferr != nil && len(nonces) > 1 {
				verr = ferr
			}
		}
		mu.Unlock()
		w.Header().Set("Date", serverTime.UTC().Format(http.TimeFormat))
	}))
	defer srv.Close()
	s := NewSigner("web01", key)
	c := &http.Client{Transport: s.Transport(srv.Client().Transport)}
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/register", strings.NewReader("facts"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get(AuthHeader) != "" {
			t.Error("the caller's request was changed")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if verr != nil {
		t.Fatal(verr)
	}
	if len(nonces) != 2 || nonces[0] == nonces[1] {
		t.Errorf("nonces %q", nonces)
	}
}

func TestReplayCache(t *testing.T) {
	_, key := newKey(t)
	s := NewSigner("web01", key)
	r := httptest.NewRequest(http.MethodGet, "/externals/web01.toml", nil)
	s.Sign(r, nil)
	a, err := ParseRequestAuth(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &ReplayCache{Max: 2}
	now := time.Now()
	if err := c.Check(a, now); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(a, now.Add(time.Second)); !errors.Is(err, ErrReplay) {
		t.Errorf("replay: %v", err)
	}
	// Another nonce, then the cache is full.
	s.Sign(r, nil)
	b, _ := ParseRequestAuth(r, nil)
	if err := c.Check(b, now); err != nil {
		t.Fatal(err)
	}
	s.Sign(r, nil)
	d, _ := ParseRequestAuth(r, nil)
	if err := c.Check(d, now); !errors.Is(err, ErrReplayFull) {
		t.Errorf("full: %v", err)
	}
	// Once old entries can no longer be fresh, they make room.
	if err := c.Check(d, now.Add(2*MaxClockSkew+2*time.Minute)); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func FuzzParseRequestAuth(f *testing.F) {
	pub, key, _ := GenerateKey()
	r := httptest.NewRequest(http.MethodGet, "/externals/web01.toml", nil)
	NewSigner("web01", key).Sign(r, nil)
	f.Add(r.Header.Get(AuthHeader))
	f.Add("v1 host=a ts=1 nonce=n sig=AAAA")
	f.Fuzz(func(t *testing.T, v string) {
		q := httptest.NewRequest(http.MethodGet, "/externals/web01.toml", nil)
		q.Header.Set(AuthHeader, v)
		a, err := ParseRequestAuth(q, nil)
		if err != nil {
			return
		}
		if a.Verify(pub) == nil && v != r.Header.Get(AuthHeader) && !strings.Contains(v, "  ") {
			// Only the header signed here (give or take spacing) verifies.
			if a.Host != "web01" {
				t.Fatalf("forged: %q", v)
			}
		}
	})
}
