package externals

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/signing"
)

// fakeServer is an externals server whose behaviour a test swaps at will,
// counting the requests each path got.
type fakeServer struct {
	*httptest.Server
	mu     sync.Mutex
	handle http.HandlerFunc
	hits   map[string]int
	last   http.Header // request headers of the last GET of a .toml
}

func newFakeServer(t *testing.T, h http.HandlerFunc) *fakeServer {
	fsrv := &fakeServer{handle: h, hits: map[string]int{}}
	fsrv.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fsrv.mu.Lock()
		fsrv.hits[r.URL.Path]++
		if strings.HasSuffix(r.URL.Path, ".toml") {
			fsrv.last = r.Header.Clone()
		}
		h := fsrv.handle
		fsrv.mu.Unlock()
		h(w, r)
	}))
	// Handshakes the client refuses on purpose are not news.
	fsrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	fsrv.StartTLS()
	t.Cleanup(fsrv.Close)
	return fsrv
}

func (fsrv *fakeServer) set(h http.HandlerFunc) {
	fsrv.mu.Lock()
	fsrv.handle = h
	fsrv.mu.Unlock()
}

func (fsrv *fakeServer) hitCount(path string) int {
	fsrv.mu.Lock()
	defer fsrv.mu.Unlock()
	return fsrv.hits[path]
}

func (fsrv *fakeServer) lastHeader() http.Header {
	fsrv.mu.Lock()
	defer fsrv.mu.Unlock()
	return fsrv.last
}

func (fsrv *fakeServer) tlsConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(fsrv.Certificate())
	return &tls.Config{RootCAs: pool}
}

// serveFile answers like a plain static file server: strong ETag,
// Last-Modified, conditional requests, and optionally the signature
// header.
func serveFile(data, sig []byte) http.HandlerFunc {
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return func(w http.ResponseWriter, r *http.Request) {
		if sig != nil {
			w.Header().Set(SignatureHeader, string(bytes.TrimSpace(sig)))
		}
		w.Header().Set("ETag", `"`+sha256Hex(data)+`"`)
		http.ServeContent(w, r, "x.toml", mod, bytes.NewReader(data))
	}
}

func newTestPuller(t *testing.T, fs *fakeServer, o Options) *Puller {
	t.Helper()
	o.URL = fs.URL + "/externals"
	o.TLS = fs.tlsConfig()
	if o.CacheDir == "" {
		o.CacheDir = t.TempDir()
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = time.Millisecond
	}
	p, err := NewPuller(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dirContents is every file in dir, temp files included, by name.
func dirContents(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func sameContents(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

const goodTOML = "[[check]]\nservice = \"disk_root\"\ncommand = \"check_disk -w 10% -c 5% -p /\"\ninterval = \"1m\"\n"

func TestFetchUpdateThen304(t *testing.T) {
	data := []byte(goodTOML)
	srv := newFakeServer(t, serveFile(data, nil))
	p := newTestPuller(t, srv, Options{})

	if _, err := p.LastKnownGood("web01"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no cache yet: err = %v, want fs.ErrNotExist", err)
	}
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Updated || o.Err != nil {
		t.Fatalf("first fetch: %v %v", o.Status, o.Err)
	}
	s := o.Snapshot
	if s.Host != "web01" || !bytes.Equal(s.Data, data) || len(s.File.Checks) != 1 || s.File.Checks[0].Service != "disk_root" {
		t.Fatalf("snapshot %+v", s)
	}
	if s.Meta.URL != srv.URL+"/externals/web01.toml" || s.Meta.ETag != `"`+sha256Hex(data)+`"` ||
		s.Meta.LastModified != "Thu, 02 Jan 2025 03:04:05 GMT" || s.Meta.SHA256 != sha256Hex(data) || s.Meta.Signed {
		t.Errorf("meta %+v", s.Meta)
	}
	if s.Version() != sha256Hex(data)[:12] {
		t.Errorf("version %q", s.Version())
	}
	if h := srv.lastHeader(); h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != "" || h.Get("User-Agent") != "picket" {
		t.Errorf("first request headers %v", h)
	}
	if runtime.GOOS != "windows" {
		for _, name := range []string{"web01.toml", "web01.meta.json"} {
			st, err := os.Stat(filepath.Join(p.dir, name))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, %v; want mode 0600", name, st, err)
			}
		}
	}

	o2 := p.Fetch(context.Background(), "web01")
	if o2.Status != Unchanged || o2.Err != nil {
		t.Fatalf("second fetch: %v %v", o2.Status, o2.Err)
	}
	h := srv.lastHeader()
	if h.Get("If-None-Match") != s.Meta.ETag || h.Get("If-Modified-Since") != s.Meta.LastModified {
		t.Errorf("conditional headers %v; want ETag %s and date %s", h, s.Meta.ETag, s.Meta.LastModified)
	}
	if o2.Snapshot.Meta.CheckedAt.Before(s.Meta.CheckedAt) || !o2.Snapshot.Meta.FetchedAt.Equal(s.Meta.FetchedAt) {
		t.Errorf("meta after 304 %+v, before %+v", o2.Snapshot.Meta, s.Meta)
	}
	lkg, err := p.LastKnownGood("web01")
	if err != nil {
		t.Fatal(err)
	}
	if !lkg.Meta.CheckedAt.Equal(o2.Snapshot.Meta.CheckedAt) {
		t.Errorf("CheckedAt not persisted: %v on disk, %v returned", lkg.Meta.CheckedAt, o2.Snapshot.Meta.CheckedAt)
	}

	// Only If-Modified-Since to go by: a server without ETags.
	srv.set(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Modified-Since") == s.Meta.LastModified {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(data)
	})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Unchanged {
		t.Errorf("304 by date: %v %v", o.Status, o.Err)
	}
}

func TestFetchSameContentIsUnchanged(t *testing.T) {
	data := []byte(goodTOML)
	etag := "1"
	srv := newFakeServer(t, nil)
	// A server that changes its ETag without changing the file (nginx
	// after a touch) and ignores conditional requests.
	srv.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"`+etag+`"`)
		w.Write(data)
	})
	p := newTestPuller(t, srv, Options{})
	first := p.Fetch(context.Background(), "web01")
	if first.Status != Updated {
		t.Fatalf("%v %v", first.Status, first.Err)
	}
	etag = "2" // the handler reads it only in the next request
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Unchanged || o.Snapshot == nil || o.Snapshot.Meta.ETag != `"2"` {
		t.Fatalf("%v %v %+v", o.Status, o.Err, o.Snapshot)
	}
	if lkg, _ := p.LastKnownGood("web01"); lkg.Meta.ETag != `"2"` || !lkg.Meta.FetchedAt.Equal(first.Snapshot.Meta.FetchedAt) {
		t.Errorf("cached meta %+v", lkg.Meta)
	}
}

func TestFetchChangedContentIsUpdated(t *testing.T) {
	srv := newFakeServer(t, serveFile([]byte(goodTOML), nil))
	p := newTestPuller(t, srv, Options{})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	newer := []byte(goodTOML + "\n[[check]]\nservice = \"load\"\ncommand = \"check_load\"\n")
	srv.set(serveFile(newer, nil))
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Updated || len(o.Snapshot.File.Checks) != 2 {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	lkg, err := p.LastKnownGood("web01")
	if err != nil || !bytes.Equal(lkg.Data, newer) {
		t.Fatalf("cache after update: %v", err)
	}
}

// TestFetchFailuresKeepCache establishes a last known good, then makes
// the server misbehave in every way a test can, and checks that each
// failure is reported as it should be and changes nothing in the cache.
func TestFetchFailuresKeepCache(t *testing.T) {
	pub, key := newKey(t)
	_, otherKey := newKey(t)
	good := []byte(goodTOML)
	srv := newFakeServer(t, serveFile(good, sig2(key, "web01", good)))
	dir := t.TempDir()
	p := newTestPuller(t, srv, Options{PublicKeys: trust(pub), CacheDir: dir})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated || !o.Snapshot.Meta.Signed {
		t.Fatalf("setup: %v %v", o.Status, o.Err)
	}
	before := dirContents(t, dir)
	if _, ok := before["web01.toml.sig"]; !ok || len(before) != 3 {
		t.Fatalf("cache holds %v", before)
	}

	// A body whose bytes are new, so no case is mistaken for unchanged.
	signedWith := func(k ed25519.PrivateKey, host string, data []byte) http.HandlerFunc {
		return serveFile(data, sig2(k, host, data))
	}
	// A signature by another key that claims to be by the trusted one.
	forged := func(k ed25519.PrivateKey, claimed ed25519.PublicKey, data []byte) []byte {
		s := signing.SignExternals(k, "web01", serials.Add(1), "", data)
		s.Key = signing.Fingerprint(claimed)
		return s.File()
	}
	signedAt := func(k ed25519.PrivateKey, host string, data []byte, serial uint64) http.HandlerFunc {
		return serveFile(data, signing.SignExternals(k, host, serial, "", data).File())
	}
	big := append([]byte(goodTOML), bytes.Repeat([]byte("# padding\n"), DefaultMaxSize/10)...)
	changed := []byte(goodTOML + "# changed\n")
	sigFile := func(sig []byte, code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".sig") {
				w.WriteHeader(code)
				w.Write(sig)
				return
			}
			w.Write(changed)
		}
	}

	tests := []struct {
		name    string
		handle  http.HandlerFunc
		timeout time.Duration
		status  Status
		want    string
		hits    int // requests for the .toml, when it matters
	}{
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			0, NotFound, "not registered: GET " + srv.URL + "/externals/web01.toml: server answered 404 Not Found", 1},
		{"server error retried", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) },
			0, Unreachable, "server answered 500 Internal Server Error (4 attempts)", DefaultRetryMax + 1},
		{"too many requests retried", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) },
			0, Unreachable, "429 Too Many Requests (4 attempts)", DefaultRetryMax + 1},
		{"forbidden not retried", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "bound to another key", http.StatusForbidden)
		},
			0, Denied, "server answered 403 Forbidden: bound to another key", 1},
		{"unauthorized not retried", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) },
			0, Denied, "server answered 401 Unauthorized: (no message)", 1},
		{"connection dropped", func(w http.ResponseWriter, r *http.Request) {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		}, 0, Unreachable, "(4 attempts)", DefaultRetryMax + 1},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			300 * time.Millisecond, Unreachable, "no complete answer within 300ms", 1},
		{"garbage", signedWith(key, "web01", []byte("this is not = = toml\n")),
			0, Rejected, srv.URL + "/externals/web01.toml:1", 1},
		{"invalid check", signedWith(key, "web01", []byte("[[check]]\nservice = \"x\"\n")),
			0, Rejected, srv.URL + "/externals/web01.toml:1: check[0].command: missing", 1},
		{"oversized by length", signedWith(key, "web01", big), 0, Rejected, "larger than 1 MiB (Content-Length", 1},
		{"oversized streamed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(SignatureHeader, strings.TrimSpace(string(sig2(key, "web01", big))))
			for chunk := big; len(chunk) > 0; chunk = chunk[min(len(chunk), 4096):] {
				w.Write(chunk[:min(len(chunk), 4096)])
				http.NewResponseController(w).Flush()
			}
		}, 0, Rejected, "web01.toml: larger than 1 MiB", 1},
		{"signed with another key", signedWith(otherKey, "web01", changed), 0, Rejected, "which is not among the trusted public keys", 1},
		{"signed for another host", signedWith(key, "web02", changed), 0, Rejected, "signature does not match", 1},
		{"unsigned", sigFile([]byte("404 page not found\n"), 404), 0, Rejected, "signature required, but the server has none", 1},
		{"bad .sig file", sigFile(sig2(otherKey, "web01", changed), 200), 0, Rejected, "which is not among the trusted public keys", 1},
		{"forged key name", sigFile(forged(otherKey, pub, changed), 200), 0, Rejected, "signature does not match", 1},
		{"garbage .sig file", sigFile([]byte("not a signature"), 200), 0, Rejected, "not a v2 signature line", 1},
		{"v1 signature", sigFile(signing.SignV1(key, "web01", changed), 200), 0, Rejected, "a v1 signature (no serial", 1},
		{"replayed older file", signedAt(key, "web01", changed, 1), 0, Rejected, "an older signed file (serial 1) than the one this agent runs", 1},
		{"oversized .sig file", sigFile(bytes.Repeat([]byte("A"), 5000), 200), 0, Rejected, "web01.toml.sig: larger than 4 KiB", 1},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.Path, http.StatusFound) },
			0, Unreachable, "stopped after 5 redirects", 1 + maxRedirects},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPuller(t, srv, Options{PublicKeys: trust(pub), CacheDir: dir, Timeout: tt.timeout})
			srv.set(tt.handle)
			hits := srv.hitCount("/externals/web01.toml")
			o := p.Fetch(context.Background(), "web01")
			if o.Status != tt.status || o.Err == nil || !strings.Contains(o.Err.Error(), tt.want) {
				t.Errorf("got %v %v; want %v and %q", o.Status, o.Err, tt.status, tt.want)
			}
			t.Logf("%v: %v", o.Status, o.Err)
			if o.Snapshot != nil {
				t.Errorf("a snapshot with a failure")
			}
			if tt.hits > 0 {
				if got := srv.hitCount("/externals/web01.toml") - hits; got != tt.hits {
					t.Errorf("%d requests for the file, want %d", got, tt.hits)
				}
			}
			if after := dirContents(t, dir); !sameContents(before, after) {
				t.Errorf("cache changed:\nbefore %q\nafter  %q", before, after)
			}
			lkg, err := p.LastKnownGood("web01")
			if err != nil || !bytes.Equal(lkg.Data, good) {
				t.Errorf("last known good after the failure: %v", err)
			}
		})
	}
}

func TestFetchTimeoutIsDeadlineExceeded(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	p := newTestPuller(t, srv, Options{Timeout: 100 * time.Millisecond})
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Unreachable || !errors.Is(o.Err, context.DeadlineExceeded) {
		t.Errorf("%v %v", o.Status, o.Err)
	}
}

func TestFetchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	p := newTestPuller(t, srv, Options{})
	o := p.Fetch(ctx, "web01")
	if o.Status != Unreachable || !errors.Is(o.Err, context.Canceled) || strings.Contains(o.Err.Error(), "within") {
		t.Errorf("%v %v", o.Status, o.Err)
	}
}

func TestFetchSignatureSources(t *testing.T) {
	pub, key := newKey(t)
	data := []byte(goodTOML)
	sig := sig2(key, "web01", data)

	// Header present: no second request.
	srv := newFakeServer(t, serveFile(data, sig))
	p := newTestPuller(t, srv, Options{PublicKeys: trust(pub)})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Fatalf("header: %v %v", o.Status, o.Err)
	}
	if n := srv.hitCount("/externals/web01.toml.sig"); n != 0 {
		t.Errorf("header given, yet %d requests for the .sig", n)
	}

	// No header: the .sig file.
	srv2 := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".sig") {
			w.Write(sig)
			return
		}
		w.Write(data)
	})
	dir := t.TempDir()
	p2 := newTestPuller(t, srv2, Options{PublicKeys: trust(pub), CacheDir: dir})
	if o := p2.Fetch(context.Background(), "web01"); o.Status != Updated || !o.Snapshot.Meta.Signed {
		t.Fatalf(".sig file: %v %v", o.Status, o.Err)
	}
	if n := srv2.hitCount("/externals/web01.toml.sig"); n != 1 {
		t.Errorf("%d requests for the .sig, want 1", n)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "web01.toml.sig")); !bytes.Equal(got, sig) {
		t.Errorf("cached signature %q, want %q", got, sig)
	}
}

func TestLastKnownGoodAfterKeyChange(t *testing.T) {
	pub, key := newKey(t)
	newPub, _ := newKey(t)
	data := []byte(goodTOML)
	srv := newFakeServer(t, serveFile(data, sig2(key, "web01", data)))
	dir := t.TempDir()
	p := newTestPuller(t, srv, Options{PublicKeys: trust(pub), CacheDir: dir})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	rotated := newTestPuller(t, srv, Options{PublicKeys: trust(newPub), CacheDir: dir})
	_, err := rotated.LastKnownGood("web01")
	if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "not among the trusted public keys") {
		t.Errorf("LastKnownGood under a new key: %v", err)
	}

	// A cache stored without a key is not good enough once one is set.
	plainDir := t.TempDir()
	plain := newTestPuller(t, srv, Options{CacheDir: plainDir})
	if o := plain.Fetch(context.Background(), "web01"); o.Status != Updated || o.Snapshot.Meta.Signed {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	if _, err := os.Stat(filepath.Join(plainDir, "web01.toml.sig")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("signature stored without a key: %v", err)
	}
	strict := newTestPuller(t, srv, Options{PublicKeys: trust(pub), CacheDir: plainDir})
	if _, err := strict.LastKnownGood("web01"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unsigned cache under a key: %v", err)
	}
	// And the next fetch replaces it unconditionally.
	if o := strict.Fetch(context.Background(), "web01"); o.Status != Updated || !o.Snapshot.Meta.Signed {
		t.Errorf("refetch: %v %v", o.Status, o.Err)
	}
	if h := srv.lastHeader(); h.Get("If-None-Match") != "" {
		t.Errorf("conditional request on an unusable cache: %v", h)
	}
}

func TestLastKnownGoodTornSet(t *testing.T) {
	data := []byte(goodTOML)
	srv := newFakeServer(t, serveFile(data, nil))
	dir := t.TempDir()
	p := newTestPuller(t, srv, Options{CacheDir: dir})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	// As if power failed between the renames of the content and the meta.
	os.WriteFile(filepath.Join(dir, "web01.toml"), []byte(goodTOML+"# newer\n"), 0o600)
	if _, err := p.LastKnownGood("web01"); err == nil || !strings.Contains(err.Error(), "interrupted update") {
		t.Errorf("torn set: %v", err)
	}
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Errorf("fetch over a torn set: %v %v", o.Status, o.Err)
	}
	if _, err := p.LastKnownGood("web01"); err != nil {
		t.Errorf("after repair: %v", err)
	}
}

func TestFetchURLChangeIsUnconditional(t *testing.T) {
	data := []byte(goodTOML)
	srv := newFakeServer(t, serveFile(data, nil))
	dir := t.TempDir()
	p := newTestPuller(t, srv, Options{CacheDir: dir})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Fatalf("%v %v", o.Status, o.Err)
	}
	moved, err := NewPuller(Options{URL: srv.URL + "/other/", TLS: srv.tlsConfig(), CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	o := moved.Fetch(context.Background(), "web01")
	if h := srv.lastHeader(); h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != "" {
		t.Errorf("conditional request to a new URL: %v", h)
	}
	if o.Status != Unchanged || o.Snapshot.Meta.URL != srv.URL+"/other/web01.toml" {
		t.Errorf("%v %v %+v", o.Status, o.Err, o.Snapshot)
	}
}

func TestFetchRedirects(t *testing.T) {
	data := []byte(goodTOML)
	var plainHits sync.Map
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Store(r.URL.Path, true)
		w.Write(data)
	}))
	defer plain.Close()
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusMovedPermanently)
	})
	p := newTestPuller(t, srv, Options{})
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Unreachable || !strings.Contains(o.Err.Error(), "refusing a redirect from https to http") {
		t.Errorf("downgrade: %v %v", o.Status, o.Err)
	}
	if n := srv.hitCount("/externals/web01.toml"); n != 1 {
		t.Errorf("refused redirect retried: %d requests", n)
	}
	plainHits.Range(func(k, _ any) bool {
		t.Errorf("plain http server got %v", k)
		return true
	})

	// https to https is followed.
	srv.set(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/externals/web01.toml" {
			http.Redirect(w, r, "/moved/web01.toml", http.StatusFound)
			return
		}
		serveFile(data, nil)(w, r)
	})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Errorf("https redirect: %v %v", o.Status, o.Err)
	}
}

func TestFetchRetryAfterIsCapped(t *testing.T) {
	data := []byte(goodTOML)
	var calls int
	var mu sync.Mutex
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write(data)
	})
	// Were the hour obeyed, the Fetch would end by its timeout instead.
	p := newTestPuller(t, srv, Options{RetryWaitMax: 10 * time.Millisecond, Timeout: time.Minute})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Updated {
		t.Errorf("%v %v", o.Status, o.Err)
	}
}

func TestBackoff(t *testing.T) {
	resp := func(code int, retryAfter string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		if retryAfter != "" {
			r.Header.Set("Retry-After", retryAfter)
		}
		return r
	}
	const lo, hi = time.Second, 30 * time.Second
	if got := backoff(lo, hi, 0, resp(429, "3600")); got != hi {
		t.Errorf("Retry-After 3600: %v, want the cap %v", got, hi)
	}
	if got := backoff(lo, hi, 0, resp(503, "7")); got != 7*time.Second {
		t.Errorf("Retry-After 7: %v", got)
	}
	if got := backoff(lo, hi, 0, resp(503, "99999999999999999")); got != hi {
		t.Errorf("huge Retry-After: %v", got)
	}
	date := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	if got := backoff(lo, hi, 0, resp(503, date)); got != hi {
		t.Errorf("Retry-After %s: %v", date, got)
	}
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	if got := backoff(lo, hi, 0, resp(503, past)); got != 0 {
		t.Errorf("Retry-After in the past: %v", got)
	}
	// Without (or with a bad) Retry-After: exponential, jittered within
	// [half, full] of the step, never over the cap.
	for attempt := 0; attempt < 10; attempt++ {
		step := min(lo<<attempt, hi)
		for range 50 {
			for _, r := range []*http.Response{nil, resp(500, ""), resp(503, "soon"), resp(503, "-5")} {
				got := backoff(lo, hi, attempt, r)
				if got < step/2 || got > step {
					t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, got, step/2, step)
				}
			}
		}
	}
}

func TestFetchRefusesBadHostWithoutRequest(t *testing.T) {
	srv := newFakeServer(t, serveFile([]byte(goodTOML), nil))
	p := newTestPuller(t, srv, Options{})
	for _, h := range []string{"", "../etc/passwd", "a/b", "x..y", "nul"} {
		if o := p.Fetch(context.Background(), h); o.Status != Rejected || !strings.Contains(o.Err.Error(), "invalid host name") {
			t.Errorf("%q: %v %v", h, o.Status, o.Err)
		}
		if _, err := p.LastKnownGood(h); err == nil {
			t.Errorf("LastKnownGood(%q) without an error", h)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.hits) != 0 {
		t.Errorf("requests made: %v", srv.hits)
	}
}

func TestFetchCacheUnwritable(t *testing.T) {
	srv := newFakeServer(t, serveFile([]byte(goodTOML), nil))
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	p := newTestPuller(t, srv, Options{CacheDir: filepath.Join(file, "cache")})
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Rejected || !strings.Contains(o.Err.Error(), "cannot be stored in the cache") {
		t.Errorf("%v %v", o.Status, o.Err)
	}
}

func TestFetchLogsRetriesAtDebug(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) })
	p := newTestPuller(t, srv, Options{Logger: log, RetryMax: 1})
	if o := p.Fetch(context.Background(), "web01"); o.Status != Unreachable || !strings.Contains(o.Err.Error(), "(2 attempts)") {
		t.Errorf("%v %v", o.Status, o.Err)
	}
	out := buf.String()
	if !strings.Contains(out, "level=DEBUG msg=\"externals: retrying request\"") {
		t.Errorf("log:\n%s", out)
	}
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "level=WARN") {
		t.Errorf("retries logged above debug:\n%s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNewPullerOptions(t *testing.T) {
	pub, _ := newKey(t)
	bad := []struct {
		o    Options
		want string
	}{
		{Options{URL: "http://x/e/", CacheDir: "d"}, "plain http without a public key"},
		{Options{URL: "ftp://x/e/", CacheDir: "d"}, "want https://"},
		{Options{URL: "https:///e/", CacheDir: "d"}, "no host"},
		{Options{URL: "https://x/e/?a=b", CacheDir: "d"}, "no query"},
		{Options{URL: "https://x/e/"}, "cache directory"},
		{Options{URL: "https://x/e/", CacheDir: "d", PublicKeys: trust(pub[:5])}, "public key is 5 bytes"},
		{Options{URL: "https://x/e/", CacheDir: "d", Timeout: -1}, "negative"},
		{Options{URL: "https://user:secret@x/e/?q", CacheDir: "d"}, "xxxxx"},
	}
	for _, b := range bad {
		_, err := NewPuller(b.o)
		if err == nil || !strings.Contains(err.Error(), b.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%+v: err = %v, want %q", b.o, err, b.want)
		}
	}
	p, err := NewPuller(Options{URL: "http://x/e", CacheDir: "d", PublicKeys: trust(pub), TLS: &tls.Config{MinVersion: tls.VersionTLS10}})
	if err != nil {
		t.Fatal(err)
	}
	if p.base != "http://x/e/" || p.timeout != DefaultTimeout || p.maxSize != DefaultMaxSize || p.client.RetryMax != DefaultRetryMax ||
		p.client.RetryWaitMax != DefaultRetryWaitMax {
		t.Errorf("defaults: %+v", p)
	}
	if v := p.client.HTTPClient.Transport.(*http.Transport).TLSClientConfig.MinVersion; v != tls.VersionTLS12 {
		t.Errorf("TLS min version %x", v)
	}
	if p, _ := NewPuller(Options{URL: "https://x/e/", CacheDir: "d", RetryMax: -1}); p.client.RetryMax != 0 {
		t.Errorf("RetryMax -1 gave %d retries", p.client.RetryMax)
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{Unchanged: "unchanged", Updated: "updated", NotFound: "not found",
		Rejected: "rejected", Unreachable: "unreachable", 0: "status(0)"} {
		if s.String() != want {
			t.Errorf("%d: %q", int(s), s.String())
		}
	}
}

func TestFetchClosedPort(t *testing.T) {
	srv := newFakeServer(t, serveFile([]byte(goodTOML), nil))
	p := newTestPuller(t, srv, Options{})
	srv.Close()
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Unreachable || !strings.Contains(o.Err.Error(), "connection refused") || !strings.Contains(o.Err.Error(), "(4 attempts)") {
		t.Errorf("%v %v", o.Status, o.Err)
	}
}

func TestFetchUntrustedCertificate(t *testing.T) {
	srv := newFakeServer(t, serveFile([]byte(goodTOML), nil))
	p, err := NewPuller(Options{URL: srv.URL + "/externals/", CacheDir: t.TempDir(), RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Fetch(context.Background(), "web01")
	if o.Status != Unreachable || !strings.Contains(o.Err.Error(), "certificate") || !strings.Contains(o.Err.Error(), "(1 attempt)") {
		t.Errorf("%v %v", o.Status, o.Err)
	}
	if n := srv.hitCount("/externals/web01.toml"); n != 0 {
		t.Errorf("%d requests reached the handler", n)
	}
}

func TestServerClock(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 300e6, time.UTC)
	tests := []struct {
		date string
		off  time.Duration
		ok   bool
	}{
		{"Fri, 04 Dec 2026 10:00:00 GMT", 0, true},
		{"Fri, 04 Dec 2026 10:00:01 GMT", 0, true}, // within what a Date can tell
		{"Fri, 04 Dec 2026 10:01:30 GMT", 90*time.Second + 200*time.Millisecond, true},
		{"Fri, 04 Dec 2026 09:58:00 GMT", -(2*time.Minute - 200*time.Millisecond), true},
		{"", 0, false},
		{"yesterday", 0, false},
	}
	for _, tt := range tests {
		off, ok := serverClock(tt.date, now)
		if off != tt.off || ok != tt.ok {
			t.Errorf("serverClock(%q) = %v, %v; want %v, %v", tt.date, off, ok, tt.off, tt.ok)
		}
	}
}
