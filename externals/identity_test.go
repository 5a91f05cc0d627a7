package externals

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/picket-monitoring/picket/internal/signing"
)

// Every request of a puller with a Signer proves the agent's key, each
// attempt anew, and names the keys the agent trusts.
func TestFetchSignsRequests(t *testing.T) {
	pub, key := newKey(t)
	agentPub, agentKey := newKey(t)
	data := []byte(goodTOML)
	sig := sig2(key, "web01", data)
	var mu sync.Mutex
	var problems []string
	var nonces []string
	calls := 0
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		a, err := signing.ParseRequestAuth(r, nil)
		if err == nil {
			err = a.Verify(agentPub)
		}
		if err != nil {
			problems = append(problems, err.Error())
		} else {
			nonces = append(nonces, a.Nonce)
		}
		if got := r.Header.Get(signing.TrustHeader); got != signing.Fingerprint(pub) {
			problems = append(problems, "trust header "+got)
		}
		if calls++; calls == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		serveFile(data, sig)(w, r)
	})
	p := newTestPuller(t, srv, Options{PublicKeys: trust(pub), Signer: signing.NewSigner("web01", agentKey)})
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Updated {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("requests: %q", problems)
	}
	if len(nonces) != 2 || nonces[0] == nonces[1] {
		t.Errorf("a retry must be signed anew: nonces %q", nonces)
	}
	if m := o.Snapshot.Meta; m.Key != signing.Fingerprint(pub) || m.Serial == 0 || m.Next != "" {
		t.Errorf("meta %+v", m)
	}
}

// A server that begins rotating re-signs the same file announcing the
// next key: the agent keeps the new signature (and the serial), and a
// later, older file is refused even after a restart.
func TestFetchKeepsNewSignatureOfSameFile(t *testing.T) {
	pub, key := newKey(t)
	nextPub, _ := newKey(t)
	data := []byte(goodTOML)
	dir := t.TempDir()
	first := signing.SignExternals(key, "web01", 10, "", data)
	srv := newFakeServer(t, serveFile(data, first.File()))
	p := newTestPuller(t, srv, Options{PublicKeys: trust(pub), CacheDir: dir})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	announced := signing.SignExternals(key, "web01", 11, signing.Fingerprint(nextPub), data)
	srv.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(SignatureHeader, announced.String())
		w.Write(data)
	})
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Unchanged || o.Snapshot.Meta.Next != signing.Fingerprint(nextPub) || o.Snapshot.Meta.Serial != 11 {
		t.Fatalf("%v %v %+v", o.Status, o.Err, o.Snapshot)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "web01.toml.sig")); !bytes.Equal(got, announced.File()) {
		t.Errorf("cached signature %q", got)
	}

	// The same file with an older signature is harmless: the higher
	// serial stays.
	srv.set(serveFile(data, first.File()))
	if o := p.Fetch(context.Background(), "web01"); o.Status != Unchanged || o.Snapshot.Meta.Serial != 11 {
		t.Fatalf("older signature of the same file: %v %v", o.Status, o.Err)
	}

	// A restarted agent remembers the serial.
	restarted := newTestPuller(t, srv, Options{PublicKeys: trust(pub), CacheDir: dir})
	old := []byte(goodTOML + "# an older version\n")
	srv.set(serveFile(old, signing.SignExternals(key, "web01", 9, "", old).File()))
	o = restarted.Fetch(context.Background(), "web01")
	if o.Status != Rejected || !strings.Contains(o.Err.Error(), "refused as a replay") {
		t.Fatalf("replay after a restart: %v %v", o.Status, o.Err)
	}
}

// An agent upgraded from v1 runs the file its cache verified with v1 until
// the server's v2 signature replaces it; the network's v1 is refused.
func TestLastKnownGoodAcceptsCachedV1(t *testing.T) {
	pub, key := newKey(t)
	data := []byte(goodTOML)
	dir := t.TempDir()
	meta := `{"url":"x","sha256":"` + sha256Hex(data) + `","signed":true,"fetched_at":"2025-01-01T00:00:00Z","checked_at":"2025-01-01T00:00:00Z"}`
	os.WriteFile(filepath.Join(dir, "web01.toml"), data, 0o600)
	os.WriteFile(filepath.Join(dir, "web01.toml.sig"), signing.SignV1(key, "web01", data), 0o600)
	os.WriteFile(filepath.Join(dir, "web01.meta.json"), []byte(meta), 0o600)
	srv := newFakeServer(t, serveFile(data, sig2(key, "web01", data)))
	p := newTestPuller(t, srv, Options{PublicKeys: trust(pub), CacheDir: dir})
	if _, err := p.LastKnownGood("web01"); err != nil {
		t.Fatalf("cached v1: %v", err)
	}
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Unchanged || o.Snapshot.Meta.Serial == 0 {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "web01.toml.sig"))
	if _, err := signing.ParseSignature(got); err != nil {
		t.Errorf("the cache still holds %q: %v", got, err)
	}
}

// Options.Proxy carries every request.
func TestFetchThroughProxy(t *testing.T) {
	data := []byte(goodTOML)
	srv := newFakeServer(t, serveFile(data, nil))
	var asked atomic.Int32
	p := newTestPuller(t, srv, Options{Proxy: func(r *http.Request) (*url.URL, error) {
		asked.Add(1)
		return nil, nil // direct, after all: the fake server is no proxy
	}})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	if asked.Load() == 0 {
		t.Error("the proxy function was never asked")
	}
}
