package externals

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
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

var modTime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// handlerDir makes an externals directory holding web01.toml, with a
// file beside it (outside) that no request may reach.
func handlerDir(t testing.TB) (dir string) {
	t.Helper()
	parent := t.TempDir()
	dir = filepath.Join(parent, "externals")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, data string) {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, modTime, modTime)
	}
	write(filepath.Join(dir, "web01.toml"), goodTOML)
	write(filepath.Join(parent, "x.toml"), "secret = \"outside\"\n")
	write(filepath.Join(parent, "x.toml.sig"), "outside\n")
	return dir
}

type servedLog struct {
	mu    sync.Mutex
	hosts []string
}

func (s *servedLog) served(host, remote string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hosts = append(s.hosts, host+" "+remote)
}

func (s *servedLog) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hosts)
}

// do sends one request through the handler as the server mounts it.
func do(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	http.StripPrefix("/externals/", h).ServeHTTP(rec, req)
	return rec
}

func TestHandlerServesWithValidators(t *testing.T) {
	dir := handlerDir(t)
	var log servedLog
	h := &Handler{Dir: dir, Served: log.served}

	rec := do(h, "GET", "/externals/web01.toml", nil)
	etag := `"` + sha256Hex([]byte(goodTOML)) + `"`
	hd := rec.Header()
	if rec.Code != 200 || rec.Body.String() != goodTOML {
		t.Fatalf("GET: %d %q", rec.Code, rec.Body)
	}
	if hd.Get("ETag") != etag || hd.Get("Last-Modified") != "Tue, 04 Mar 2025 05:06:07 GMT" ||
		hd.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(hd.Get("Content-Type"), "application/toml") {
		t.Errorf("headers %v", hd)
	}
	if hd.Get(SignatureHeader) != "" {
		t.Errorf("signature header without key or .sig file: %q", hd.Get(SignatureHeader))
	}
	if log.count() != 1 || log.hosts[0] != "web01 192.0.2.1:1234" {
		t.Errorf("Served calls %v", log.hosts)
	}

	rec = do(h, "GET", "/externals/web01.toml", http.Header{"If-None-Match": {etag}})
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	rec = do(h, "GET", "/externals/web01.toml", http.Header{"If-None-Match": {`"other"`}})
	if rec.Code != 200 {
		t.Errorf("If-None-Match other: %d", rec.Code)
	}
	rec = do(h, "GET", "/externals/web01.toml", http.Header{"If-Modified-Since": {"Tue, 04 Mar 2025 05:06:07 GMT"}})
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", rec.Code)
	}
	rec = do(h, "GET", "/externals/web01.toml", http.Header{"If-Modified-Since": {"Mon, 03 Mar 2025 05:06:07 GMT"}})
	if rec.Code != 200 {
		t.Errorf("If-Modified-Since earlier: %d", rec.Code)
	}
	rec = do(h, "HEAD", "/externals/web01.toml", nil)
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag {
		t.Errorf("HEAD: %d %q", rec.Code, rec.Body)
	}
	if log.count() != 6 {
		t.Errorf("Served called %d times for 4 200s and 2 304s: %v", log.count(), log.hosts)
	}
}

func TestHandlerRefusesPaths(t *testing.T) {
	dir := handlerDir(t)
	parent := filepath.Dir(dir)
	os.Mkdir(filepath.Join(dir, "sub.toml"), 0o755)
	os.Mkdir(filepath.Join(dir, "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "b.toml"), []byte(goodTOML), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	if err := os.Symlink(filepath.Join(parent, "x.toml"), filepath.Join(dir, "abs.toml")); err != nil {
		t.Skipf("symlinks: %v", err)
	}
	os.Symlink("../x.toml", filepath.Join(dir, "rel.toml"))
	os.Symlink("../x.toml.sig", filepath.Join(dir, "rel.toml.sig"))
	os.Symlink("..", filepath.Join(dir, "up"))
	// A symlink that stays inside is an ordinary way to alias a host.
	os.Symlink("web01.toml", filepath.Join(dir, "alias.toml"))

	var log servedLog
	_, key := newKey(t)
	for _, h := range []*Handler{{Dir: dir, Served: log.served}, {Dir: dir, Served: log.served, Key: key}} {
		for _, path := range []string{
			"nosuch.toml", "nosuch.toml.sig", "../x.toml", "%2e%2e%2fx.toml", "..%2fx.toml", "a/b.toml", "a%2fb.toml",
			"", "/", "sub.toml", "sub.toml.sig", "notes.txt", ".toml", "web01", "web01.toml/", "web01.TOML",
			"abs.toml", "rel.toml", "rel.toml.sig", "up/x.toml", "web01.toml.sig.sig",
		} {
			rec := do(h, "GET", "/externals/"+path, nil)
			if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "outside") {
				t.Errorf("key %v: GET %q: %d %q", h.Key != nil, path, rec.Code, rec.Body)
			}
		}
		if rec := do(h, "GET", "/externals/alias.toml", nil); rec.Code != 200 {
			t.Errorf("symlink inside the directory: %d", rec.Code)
		}
	}
	if log.count() != 2 {
		t.Errorf("Served calls %v", log.hosts)
	}
	// Nothing was written through a symlink either.
	if b, _ := os.ReadFile(filepath.Join(parent, "x.toml.sig")); string(b) != "outside\n" {
		t.Errorf("outside file changed: %q", b)
	}
}

func TestHandlerMethods(t *testing.T) {
	h := &Handler{Dir: handlerDir(t)}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		rec := do(h, m, "/externals/web01.toml", nil)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d, Allow %q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestHandlerMissingDir(t *testing.T) {
	h := &Handler{Dir: filepath.Join(t.TempDir(), "none")}
	if rec := do(h, "GET", "/externals/web01.toml", nil); rec.Code != http.StatusNotFound {
		t.Errorf("%d", rec.Code)
	}
}

func TestHandlerSigns(t *testing.T) {
	dir := handlerDir(t)
	pub, key := newKey(t)
	h := &Handler{Dir: dir, Key: key}
	sigPath := filepath.Join(dir, "web01.toml.sig")

	// No .sig on disk: the header is there and verifies, and the file
	// is written.
	rec := do(h, "GET", "/externals/web01.toml", nil)
	sig := rec.Header().Get(SignatureHeader)
	if rec.Code != 200 || signing.VerifyV1(pub, "web01", rec.Body.Bytes(), []byte(sig)) != nil {
		t.Fatalf("%d, signature %q", rec.Code, sig)
	}
	onDisk, err := os.ReadFile(sigPath)
	if err != nil || string(onDisk) != sig+"\n" {
		t.Errorf("signature file %q, %v", onDisk, err)
	}
	if runtime.GOOS != "windows" {
		if st, _ := os.Stat(sigPath); st.Mode().Perm() != 0o644 {
			t.Errorf("signature file mode %v", st.Mode().Perm())
		}
	}

	// The .sig path serves the signature of the current content.
	rec = do(h, "GET", "/externals/web01.toml.sig", nil)
	if rec.Code != 200 || signing.VerifyV1(pub, "web01", []byte(goodTOML), rec.Body.Bytes()) != nil {
		t.Errorf(".sig: %d %q", rec.Code, rec.Body)
	}

	// The admin edits the file: the stale .sig is rewritten at once,
	// whichever path is asked first.
	edited := goodTOML + "# edited\n"
	os.WriteFile(filepath.Join(dir, "web01.toml"), []byte(edited), 0o644)
	rec = do(h, "GET", "/externals/web01.toml.sig", nil)
	if signing.VerifyV1(pub, "web01", []byte(edited), rec.Body.Bytes()) != nil {
		t.Errorf(".sig after edit: %q", rec.Body)
	}
	if onDisk, _ := os.ReadFile(sigPath); signing.VerifyV1(pub, "web01", []byte(edited), onDisk) != nil {
		t.Errorf("stale signature file not rewritten: %q", onDisk)
	}

	// A .sig made by another key is replaced too.
	_, other := newKey(t)
	os.WriteFile(sigPath, signing.SignV1(other, "web01", []byte(edited)), 0o644)
	rec = do(h, "GET", "/externals/web01.toml", nil)
	if signing.VerifyV1(pub, "web01", rec.Body.Bytes(), []byte(rec.Header().Get(SignatureHeader))) != nil {
		t.Error("header after a foreign .sig")
	}
	if onDisk, _ := os.ReadFile(sigPath); signing.VerifyV1(pub, "web01", []byte(edited), onDisk) != nil {
		t.Errorf("foreign signature file not rewritten: %q", onDisk)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}

	// A .toml that is gone has no signature.
	os.Remove(filepath.Join(dir, "web01.toml"))
	if rec := do(h, "GET", "/externals/web01.toml.sig", nil); rec.Code != 404 {
		t.Errorf(".sig of a removed file: %d", rec.Code)
	}

	bad := &Handler{Dir: dir, Key: ed25519.PrivateKey{1, 2, 3}}
	if rec := do(bad, "GET", "/externals/web01.toml", nil); rec.Code != 500 {
		t.Errorf("short key: %d", rec.Code)
	}
}

func TestHandlerServesAdminSignature(t *testing.T) {
	dir := handlerDir(t)
	pub, key := newKey(t)
	sig := signing.SignV1(key, "web01", []byte(goodTOML))
	os.WriteFile(filepath.Join(dir, "web01.toml.sig"), sig, 0o644)
	h := &Handler{Dir: dir}
	rec := do(h, "GET", "/externals/web01.toml", nil)
	if got := rec.Header().Get(SignatureHeader); signing.VerifyV1(pub, "web01", rec.Body.Bytes(), []byte(got)) != nil {
		t.Errorf("header %q", got)
	}
	rec = do(h, "GET", "/externals/web01.toml.sig", nil)
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), sig) {
		t.Errorf(".sig: %d %q", rec.Code, rec.Body)
	}
	// Without a key the handler never writes.
	os.WriteFile(filepath.Join(dir, "web01.toml"), []byte(goodTOML+"#\n"), 0o644)
	do(h, "GET", "/externals/web01.toml", nil)
	if b, _ := os.ReadFile(filepath.Join(dir, "web01.toml.sig")); !bytes.Equal(b, sig) {
		t.Error("handler without key rewrote the .sig")
	}
}

func TestWriteFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	pub, key := newKey(t)
	data := []byte(goodTOML)
	if err := WriteFile(dir, "web01", data, key); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "web01.toml"))
	sig, _ := os.ReadFile(filepath.Join(dir, "web01.toml.sig"))
	if !bytes.Equal(got, data) || signing.VerifyV1(pub, "web01", got, sig) != nil {
		t.Errorf("content %q, signature %q", got, sig)
	}
	if runtime.GOOS != "windows" {
		for _, n := range []string{"web01.toml", "web01.toml.sig"} {
			if st, _ := os.Stat(filepath.Join(dir, n)); st.Mode().Perm() != 0o644 {
				t.Errorf("%s: mode %v", n, st.Mode().Perm())
			}
		}
	}
	// Rewritten without a key, the old signature cannot stay.
	if err := WriteFile(dir, "web01", []byte(goodTOML+"#\n"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "web01.toml.sig")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale signature kept: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v", entries)
	}
	if err := WriteFile(dir, "../evil", data, nil); err == nil {
		t.Error("invalid host written")
	}
}

// FuzzHandlerPath throws arbitrary decoded paths at the handler: nothing
// but web01's own files may ever come back.
func FuzzHandlerPath(f *testing.F) {
	for _, s := range []string{"web01.toml", "web01.toml.sig", "../x.toml", "/../x.toml", "x.toml", "web01.toml/..", "..\\x.toml", "a/../web01.toml"} {
		f.Add(s)
	}
	dir := handlerDir(f)
	os.Symlink("../x.toml", filepath.Join(dir, "rel.toml"))
	_, key := newKey(f)
	h := &Handler{Dir: dir, Key: key}
	f.Fuzz(func(t *testing.T, path string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = path
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == 404:
		case rec.Code == 200 && (path == "web01.toml" || path == "/web01.toml" || path == "web01.toml.sig" || path == "/web01.toml.sig"):
		default:
			t.Fatalf("%q: %d %q", path, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "outside") {
			t.Fatalf("%q served a file outside the directory", path)
		}
	})
}
