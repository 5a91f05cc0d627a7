package externals

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/signing"
)

// maxServe bounds what the handler reads into memory for one request.
// Files between DefaultMaxSize and this are served (an agent may allow
// more) but agents with the default limit refuse them, saying why.
const maxServe = 64 << 20

// Handler serves <host>.toml and <host>.toml.sig from Dir, for mounting
// with http.StripPrefix("/externals/", h). Who may read which host's file
// is the mounting server's decision (picket server checks the agent's
// signed request first); the handler serves whatever reaches it.
type Handler struct {
	Dir string
	// Keys, when set, sign every file served: the .toml response carries
	// X-Picket-Signature for the exact bytes served, and a .sig file on
	// disk that is not the current v2 signature (missing, stale, v1, by
	// another key, or not announcing Keys.Next) is rewritten with a new
	// serial. When nil, a .sig file in Dir is served as it is.
	Keys   *Keys
	Logger *slog.Logger
	// Served, if set, is called after a 200 or 304 for a <host>.toml:
	// the host's agent is alive and has its externals.
	Served func(host, remoteAddr string)
	// Now is the clock serials are taken from; nil is time.Now.
	Now func() time.Time

	// mu makes the read-compare-rewrite of a .sig one step, so two
	// requests never sign one file with two serials.
	mu sync.Mutex

	// goodMu guards what lastValid knows: each host's last valid
	// version served, and whether the version on disk is valid.
	goodMu   sync.Mutex
	good     map[string]served
	verdicts map[string]verdict
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// ServeHTTP answers GET and HEAD of "<host>.toml" and "<host>.toml.sig";
// every other path is 404, and nothing outside Dir is ever opened, even
// through a symlink.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	host, isSig, ok := SplitName(strings.TrimPrefix(r.URL.Path, "/"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	log := h.logger().With("host", host, "remote", r.RemoteAddr)
	if err := h.Keys.check(); err != nil {
		log.Error("externals: signing misconfigured", "err", err)
		http.Error(w, "externals signing misconfigured", http.StatusInternalServerError)
		return
	}
	// os.Root refuses any path, symlinks included, that leads out of Dir.
	root, err := os.OpenRoot(h.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		// No host has externals yet; the agent's answer to 404 is to
		// register, which creates the directory.
		log.Warn("externals: the externals directory does not exist", "dir", h.Dir)
		http.NotFound(w, r)
		return
	}
	if err != nil {
		log.Error("externals: cannot open the externals directory", "dir", h.Dir, "err", err)
		http.Error(w, "externals directory unavailable", http.StatusInternalServerError)
		return
	}
	defer root.Close()

	data, mod, err := readRegular(root, cacheTOML(host), maxServe)
	if !h.readOK(w, r, log, err) {
		return
	}
	// An invalid file (an administrator's typo) is not served while a
	// valid version of it is known: agents keep running the last valid
	// checks either way, but a new or reinstalled agent gets them too.
	good, cached := h.lastValid(host, data, mod, log)
	data, mod = good.data, good.mod
	var sig string
	switch {
	case h.Keys != nil:
		if !cached {
			good.stored = h.stored(root, host, data, log)
		}
		sig = h.Keys.forRequest(r, host, data, good.stored)
	default:
		// The admin's own .sig, in the same response as the file, saves
		// a request; a missing one is no error here.
		if !cached {
			if s, _, err := readRegular(root, cacheSig(host), signing.MaxSigSize); err == nil {
				good.sig = string(bytes.TrimSpace(s))
			}
		}
		sig = good.sig
	}
	if !cached {
		h.remember(host, good)
	}
	if isSig {
		body := []byte(sig + "\n")
		serve(w, r, cacheSig(host), "text/plain; charset=utf-8", body, mod, etagOf(body, ""))
		return
	}
	if len(data) > DefaultMaxSize {
		log.Warn("externals: file is larger than agents accept by default", "size", len(data), "limit", DefaultMaxSize)
	}
	if sig != "" && !strings.ContainsAny(sig, "\r\n") {
		w.Header().Set(SignatureHeader, sig)
	} else {
		sig = ""
	}
	sw := &statusWriter{ResponseWriter: w}
	serve(sw, r, cacheTOML(host), "application/toml; charset=utf-8", data, mod, etagOf(data, sig))
	log.Debug("externals: served", "status", sw.status)
	if h.Served != nil && (sw.status == http.StatusOK || sw.status == http.StatusNotModified) {
		h.Served(host, r.RemoteAddr)
	}
}

// stored returns the host's current v2 signature, rewriting the .sig
// file when it is not (the admin edited the .toml, the key changed, a
// rotation began). A file that cannot be rewritten is logged; the
// signature made is served anyway.
func (h *Handler) stored(root *os.Root, host string, data []byte, log *slog.Logger) signing.Signature {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev, _, _ := readRegular(root, cacheSig(host), signing.MaxSigSize)
	if s, ok := h.Keys.current(prev, host, data); ok {
		return s
	}
	s := h.Keys.sign(host, prev, data, h.now())
	if err := ensureSig(root, host, s.File()); err != nil {
		log.Warn("externals: cannot rewrite the stale signature file", "file", filepath.Join(h.Dir, cacheSig(host)), "err", err)
	}
	return s
}

// etagOf is a strong validator for data as served with sig: a new
// signature (a rotated key, a new serial) is a new representation, so an
// agent holding the old one downloads it.
func etagOf(data []byte, sig string) string {
	if sig == "" {
		return `"` + sha256Hex(data) + `"`
	}
	return `"` + sha256Hex(data) + "." + sha256Hex([]byte(sig))[:16] + `"`
}

// readOK answers a failed read: 404 for anything that is not a regular
// file inside Dir, 500 for a file the server cannot read.
func (h *Handler) readOK(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errNotRegular):
		http.NotFound(w, r)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, errTooBig):
		log.Error("externals: cannot serve", "err", err)
		http.Error(w, "cannot read externals", http.StatusInternalServerError)
	default:
		// A symlink out of Dir lands here: refused, and worth a look.
		log.Warn("externals: refused", "err", err)
		http.NotFound(w, r)
	}
	return false
}

// serve answers with data, letting ServeContent handle the conditional
// requests against a strong, content-derived ETag.
func serve(w http.ResponseWriter, r *http.Request, name, ctype string, data []byte, mod time.Time, etag string) {
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Content-Type", ctype)
	// Agents must revalidate every time: a stale check list is the one
	// thing this server exists to prevent.
	hd.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, mod, bytes.NewReader(data))
}

// SplitName takes "<host>.toml" or "<host>.toml.sig" apart; ok is false
// for any other name or an invalid host.
func SplitName(name string) (host string, isSig, ok bool) {
	if h, found := strings.CutSuffix(name, ".toml.sig"); found {
		return h, true, ValidHost(h)
	}
	if h, found := strings.CutSuffix(name, ".toml"); found {
		return h, false, ValidHost(h)
	}
	return "", false, false
}

var (
	errNotRegular = errors.New("not a regular file")
	errTooBig     = errors.New("too large to serve")
)

// readRegular reads a regular file of at most limit bytes from root.
func readRegular(root *os.Root, name string, limit int64) ([]byte, time.Time, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if !st.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("%s: %w", name, errNotRegular)
	}
	if st.Size() > limit {
		return nil, time.Time{}, fmt.Errorf("%s: %d bytes: %w (limit %s)", name, st.Size(), errTooBig, formatSize(limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, time.Time{}, err
	}
	if int64(len(data)) > limit {
		return nil, time.Time{}, fmt.Errorf("%s: grew while read: %w (limit %s)", name, errTooBig, formatSize(limit))
	}
	return data, st.ModTime(), nil
}

// ensureSig rewrites <host>.toml.sig unless it already holds sig, so the
// files in Dir stay signed however they were edited.
func ensureSig(root *os.Root, host string, sig []byte) error {
	name := cacheSig(host)
	if old, _, err := readRegular(root, name, signing.MaxSigSize); err == nil && bytes.Equal(bytes.TrimSpace(old), bytes.TrimSpace(sig)) {
		return nil
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := "." + name + ".tmp-" + hex.EncodeToString(rnd[:])
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(sig)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		root.Remove(tmp)
		return err
	}
	return nil
}

// statusWriter notes the status ServeContent chose.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// WriteFile publishes data as host's externals in dir: <host>.toml and,
// with keys, <host>.toml.sig (v2, with a serial above the one it
// replaces), each replaced atomically, both 0644 (the server reads them;
// agents get them over HTTPS anyway). Without keys, a .sig left from an
// earlier version is removed: it cannot match.
func WriteFile(dir, host string, data []byte, keys *Keys) error {
	if !ValidHost(host) {
		return fmt.Errorf("write externals: invalid host name %q", host)
	}
	if err := keys.check(); err != nil {
		return fmt.Errorf("write externals of %s: %w", host, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write externals of %s: %w", host, err)
	}
	removeStale(dir, cacheTOML(host))
	removeStale(dir, cacheSig(host))
	files := make([]staged, 0, 2)
	st, err := stage(dir, cacheTOML(host), data, 0o644)
	if err != nil {
		return fmt.Errorf("write externals of %s: %w", host, err)
	}
	files = append(files, st)
	if keys != nil {
		prev, _ := os.ReadFile(filepath.Join(dir, cacheSig(host)))
		st, err := stage(dir, cacheSig(host), keys.sign(host, prev, data, time.Now()).File(), 0o644)
		if err != nil {
			discard(files)
			return fmt.Errorf("write externals of %s: %w", host, err)
		}
		files = append(files, st)
	}
	if err := publish(dir, files); err != nil {
		return fmt.Errorf("write externals of %s: %w", host, err)
	}
	if keys == nil {
		if err := os.Remove(filepath.Join(dir, cacheSig(host))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write externals of %s: remove the old signature: %w", host, err)
		}
	}
	return nil
}
