package externals

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
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
	for _, h := range []*Handler{{Dir: dir, Served: log.served}, {Dir: dir, Served: log.served, Keys: &Keys{Current: key}}} {
		for _, path := range []string{
			"nosuch.toml", "nosuch.toml.sig", "../x.toml", "%2e%2e%2fx.toml", "..%2fx.toml", "a/b.toml", "a%2fb.toml",
			"", "/", "sub.toml", "sub.toml.sig", "notes.txt", ".toml", "web01", "web01.toml/", "web01.TOML",
			"abs.toml", "rel.toml", "rel.toml.sig", "up/x.toml", "web01.toml.sig.sig",
		} {
			rec := do(h, "GET", "/externals/"+path, nil)
			if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "outside") {
				t.Errorf("key %v: GET %q: %d %q", h.Keys != nil, path, rec.Code, rec.Body)
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

// verifyV2 checks a served or stored v2 signature and returns it.
func verifyV2(t *testing.T, pub ed25519.PublicKey, data []byte, text string) signing.Signature {
	t.Helper()
	s, err := signing.ParseSignature([]byte(text))
	if err == nil {
		_, err = s.Verify(trust(pub), "web01", data)
	}
	if err != nil {
		t.Fatalf("signature %q: %v", text, err)
	}
	return s
}

// An agent of this version says which keys it trusts.
var agentHeader = func(keys ...ed25519.PublicKey) http.Header {
	return http.Header{signing.TrustHeader: {TrustHeaderValue(keys)}}
}

func TestHandlerSigns(t *testing.T) {
	dir := handlerDir(t)
	pub, key := newKey(t)
	h := &Handler{Dir: dir, Keys: &Keys{Current: key}}
	sigPath := filepath.Join(dir, "web01.toml.sig")
	agent := agentHeader(pub)

	// No .sig on disk: the header is there and verifies, and the file
	// is written.
	rec := do(h, "GET", "/externals/web01.toml", agent)
	hdr := rec.Header().Get(SignatureHeader)
	first := verifyV2(t, pub, rec.Body.Bytes(), hdr)
	if rec.Code != 200 || first.Serial == 0 || first.Next != "" {
		t.Fatalf("%d, signature %q", rec.Code, hdr)
	}
	onDisk, err := os.ReadFile(sigPath)
	if err != nil || string(onDisk) != hdr+"\n" {
		t.Errorf("signature file %q, %v", onDisk, err)
	}
	if runtime.GOOS != "windows" {
		if st, _ := os.Stat(sigPath); st.Mode().Perm() != 0o644 {
			t.Errorf("signature file mode %v", st.Mode().Perm())
		}
	}
	// Served again: the same signature, so the same ETag.
	again := do(h, "GET", "/externals/web01.toml", agent)
	if again.Header().Get(SignatureHeader) != hdr || again.Header().Get("ETag") != rec.Header().Get("ETag") {
		t.Errorf("second serve: %q %q", again.Header().Get(SignatureHeader), again.Header().Get("ETag"))
	}

	// An agent older than v2 sends no trust header and gets v1.
	old := do(h, "GET", "/externals/web01.toml", nil)
	if err := signing.VerifyV1(pub, "web01", old.Body.Bytes(), []byte(old.Header().Get(SignatureHeader))); err != nil {
		t.Errorf("v1 for an older agent: %v", err)
	}

	// The .sig path serves the signature of the current content.
	rec = do(h, "GET", "/externals/web01.toml.sig", agent)
	if rec.Code != 200 {
		t.Errorf(".sig: %d %q", rec.Code, rec.Body)
	}
	verifyV2(t, pub, []byte(goodTOML), rec.Body.String())

	// The admin edits the file: the stale .sig is rewritten at once,
	// whichever path is asked first, with a higher serial.
	edited := goodTOML + "# edited\n"
	os.WriteFile(filepath.Join(dir, "web01.toml"), []byte(edited), 0o644)
	rec = do(h, "GET", "/externals/web01.toml.sig", agent)
	if s := verifyV2(t, pub, []byte(edited), rec.Body.String()); s.Serial <= first.Serial {
		t.Errorf("serial %d after an edit, was %d", s.Serial, first.Serial)
	}
	onDisk, _ = os.ReadFile(sigPath)
	verifyV2(t, pub, []byte(edited), string(onDisk))

	// A .sig made by another key, or a v1 one, is replaced too.
	_, other := newKey(t)
	for _, foreign := range [][]byte{sig2(other, "web01", []byte(edited)), signing.SignV1(key, "web01", []byte(edited))} {
		os.WriteFile(sigPath, foreign, 0o644)
		rec = do(h, "GET", "/externals/web01.toml", agent)
		verifyV2(t, pub, rec.Body.Bytes(), rec.Header().Get(SignatureHeader))
		onDisk, _ = os.ReadFile(sigPath)
		verifyV2(t, pub, []byte(edited), string(onDisk))
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}

	// A .toml that is gone has no signature.
	os.Remove(filepath.Join(dir, "web01.toml"))
	if rec := do(h, "GET", "/externals/web01.toml.sig", agent); rec.Code != 404 {
		t.Errorf(".sig of a removed file: %d", rec.Code)
	}

	bad := &Handler{Dir: dir, Keys: &Keys{Current: ed25519.PrivateKey{1, 2, 3}}}
	if rec := do(bad, "GET", "/externals/web01.toml", nil); rec.Code != 500 {
		t.Errorf("short key: %d", rec.Code)
	}
}

// A server rotating its key announces the next one to every agent, and
// signs with it for those that trust it, under the same serial.
func TestHandlerRotatesKeys(t *testing.T) {
	dir := handlerDir(t)
	pub, key := newKey(t)
	nextPub, next := newKey(t)
	h := &Handler{Dir: dir, Keys: &Keys{Current: key}}
	before := verifyV2(t, pub, []byte(goodTOML), do(h, "GET", "/externals/web01.toml", agentHeader(pub)).Header().Get(SignatureHeader))

	h = &Handler{Dir: dir, Keys: &Keys{Current: key, Next: next}}
	oldAgent := do(h, "GET", "/externals/web01.toml", agentHeader(pub))
	s := verifyV2(t, pub, []byte(goodTOML), oldAgent.Header().Get(SignatureHeader))
	if s.Next != signing.Fingerprint(nextPub) || s.Serial <= before.Serial {
		t.Errorf("announcement: %+v (before: serial %d)", s, before.Serial)
	}
	if oldAgent.Header().Get("ETag") == "" {
		t.Fatal("no ETag")
	}
	newAgent := do(h, "GET", "/externals/web01.toml", agentHeader(pub, nextPub))
	ns, err := signing.ParseSignature([]byte(newAgent.Header().Get(SignatureHeader)))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := ns.Verify(trust(pub, nextPub), "web01", []byte(goodTOML)); err != nil || !k.Equal(nextPub) || ns.Serial != s.Serial || ns.Next != "" {
		t.Errorf("for an agent trusting the next key: %+v, %v", ns, err)
	}
	if newAgent.Header().Get("ETag") == oldAgent.Header().Get("ETag") {
		t.Error("two signatures under one ETag: a cached one would never be replaced")
	}
	// The stored file stays the current key's.
	onDisk, _ := os.ReadFile(filepath.Join(dir, "web01.toml.sig"))
	if got := verifyV2(t, pub, []byte(goodTOML), string(onDisk)); got.Serial != s.Serial {
		t.Errorf("stored %+v", got)
	}
}

func TestHandlerServesAdminSignature(t *testing.T) {
	dir := handlerDir(t)
	pub, key := newKey(t)
	sig := sig2(key, "web01", []byte(goodTOML))
	os.WriteFile(filepath.Join(dir, "web01.toml.sig"), sig, 0o644)
	h := &Handler{Dir: dir}
	rec := do(h, "GET", "/externals/web01.toml", agentHeader(pub))
	verifyV2(t, pub, rec.Body.Bytes(), rec.Header().Get(SignatureHeader))
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
	keys := &Keys{Current: key}
	if err := WriteFile(dir, "web01", data, keys); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "web01.toml"))
	sig, _ := os.ReadFile(filepath.Join(dir, "web01.toml.sig"))
	if !bytes.Equal(got, data) {
		t.Errorf("content %q", got)
	}
	first := verifyV2(t, pub, got, string(sig))
	if runtime.GOOS != "windows" {
		for _, n := range []string{"web01.toml", "web01.toml.sig"} {
			if st, _ := os.Stat(filepath.Join(dir, n)); st.Mode().Perm() != 0o644 {
				t.Errorf("%s: mode %v", n, st.Mode().Perm())
			}
		}
	}
	// Written again, even with a clock that went back: a higher serial.
	h := &Handler{Dir: dir, Keys: keys, Now: func() time.Time { return time.Unix(1, 0) }}
	edited := []byte(goodTOML + "# again\n")
	if err := WriteFile(dir, "web01", edited, keys); err != nil {
		t.Fatal(err)
	}
	sig, _ = os.ReadFile(filepath.Join(dir, "web01.toml.sig"))
	second := verifyV2(t, pub, edited, string(sig))
	if second.Serial <= first.Serial {
		t.Errorf("serial %d after %d", second.Serial, first.Serial)
	}
	os.WriteFile(filepath.Join(dir, "web01.toml"), data, 0o644)
	third := verifyV2(t, pub, data, do(h, "GET", "/externals/web01.toml", agentHeader(pub)).Header().Get(SignatureHeader))
	if third.Serial != second.Serial+1 {
		t.Errorf("serial %d with the clock behind, after %d", third.Serial, second.Serial)
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
	h := &Handler{Dir: dir, Keys: &Keys{Current: key}}
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

// An administrator's typo: while the file is invalid, its last valid
// version is what every agent gets, signed as before (a new agent too); the
// problem is logged once with file:line, and so is the repair.
func TestHandlerServesLastValidVersion(t *testing.T) {
	dir := handlerDir(t)
	pub, key := newKey(t)
	var logs bytes.Buffer
	h := &Handler{Dir: dir, Keys: &Keys{Current: key}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	agent := agentHeader(pub)
	first := do(h, "GET", "/externals/web01.toml", agent)
	if first.Code != 200 {
		t.Fatalf("GET: %d", first.Code)
	}
	path := filepath.Join(dir, "web01.toml")
	if err := os.WriteFile(path, []byte("[[check]]\nservice = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rec := do(h, "GET", "/externals/web01.toml", agent)
		if rec.Code != 200 || rec.Body.String() != goodTOML {
			t.Fatalf("while invalid: %d %q", rec.Code, rec.Body)
		}
		verifyV2(t, pub, rec.Body.Bytes(), rec.Header().Get(SignatureHeader))
		if rec.Header().Get("ETag") != first.Header().Get("ETag") {
			t.Error("the last valid version is served under another ETag: agents would fetch it again")
		}
	}
	if n := strings.Count(logs.String(), "the file is invalid"); n != 1 || !strings.Contains(logs.String(), "web01.toml:1: check[0].command") {
		t.Errorf("logged %d times, want once with file:line:\n%s", n, logs.String())
	}
	fixed := goodTOML + "\n[[check]]\nservice = \"y\"\ncommand = \"check_y\"\n"
	if err := os.WriteFile(path, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if rec := do(h, "GET", "/externals/web01.toml", agent); rec.Body.String() != fixed {
		t.Errorf("after the repair: %q", rec.Body)
	}
	if !strings.Contains(logs.String(), "valid again") {
		t.Errorf("the repair is not logged:\n%s", logs.String())
	}

	// Invalid from the start: nothing better to serve; agents refuse it.
	h2 := &Handler{Dir: dir, Keys: &Keys{Current: key}, Logger: slog.New(slog.DiscardHandler)}
	if err := os.WriteFile(path, []byte("[[check]]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rec := do(h2, "GET", "/externals/web01.toml", agent); rec.Code != 200 || rec.Body.String() != "[[check]]\n" {
		t.Errorf("no valid version known: %d %q", rec.Code, rec.Body)
	}
}
