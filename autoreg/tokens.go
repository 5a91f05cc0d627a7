package autoreg

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Tokens is the server's set of registration tokens, read from a file
// that is watched for changes, so a token is added or revoked by editing
// the file, without a restart.
type Tokens struct {
	path string
	now  func() time.Time // tests move it past the once-a-second check

	mu        sync.Mutex
	hashes    [][sha256.Size]byte
	stat      os.FileInfo
	lastCheck time.Time
	err       error // why the last reload failed; then no token is valid
}

// recheckEvery bounds how often Valid looks at the file: a burst of
// registrations costs one stat, not one per request.
const recheckEvery = time.Second

// LoadTokens reads the tokens file: one token per line, blank lines and
// lines starting with '#' ignored. A file that other users can read is
// refused (except on Windows, whose ACLs this cannot judge), as is a
// file without a single token, since it would refuse every agent.
func LoadTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path, now: time.Now}
	hashes, st, err := readTokens(path)
	if err != nil {
		return nil, err
	}
	if len(hashes) == 0 {
		return nil, fmt.Errorf("tokens file %s holds no token: every agent would be refused", path)
	}
	t.hashes, t.stat, t.lastCheck = hashes, st, t.now()
	return t, nil
}

// Valid reports whether token is one of the file's. It takes the same time
// whichever token matches, or none: the comparison is over SHA-256 digests
// of every token, so neither a token's length nor its prefix leaks. The
// empty token is never valid.
func (t *Tokens) Valid(token string) bool {
	if t == nil {
		return false
	}
	t.reloadIfChanged()
	sum := sha256.Sum256([]byte(token))
	t.mu.Lock()
	hashes := t.hashes
	t.mu.Unlock()
	found := 0
	for i := range hashes {
		found |= subtle.ConstantTimeCompare(sum[:], hashes[i][:])
	}
	return found == 1 && token != ""
}

// Err is why the file could not be read again after it changed (nil when
// it could). Until it can, every token is refused: a file that became
// readable by everyone, or lost, must not keep revoked tokens alive.
func (t *Tokens) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// reloadIfChanged re-reads the file when its identity, size or time
// changed since the last look, at most once per recheckEvery.
func (t *Tokens) reloadIfChanged() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Sub(t.lastCheck) < recheckEvery && now.After(t.lastCheck) {
		return
	}
	t.lastCheck = now
	st, err := os.Stat(t.path)
	if err == nil && t.err == nil && t.stat != nil && os.SameFile(st, t.stat) &&
		st.Size() == t.stat.Size() && st.ModTime().Equal(t.stat.ModTime()) {
		return
	}
	hashes, st, err := readTokens(t.path)
	if err != nil {
		t.hashes, t.stat, t.err = nil, nil, err
		return
	}
	t.hashes, t.stat, t.err = hashes, st, nil
}

func readTokens(path string) ([][sha256.Size]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("tokens file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("tokens file: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o004 != 0 {
		return nil, nil, fmt.Errorf("tokens file %s is readable by every user (mode %04o): chmod o-r it", path, st.Mode().Perm())
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, nil, fmt.Errorf("tokens file: %w", err)
	}
	var hashes [][sha256.Size]byte
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		hashes = append(hashes, sha256.Sum256([]byte(line)))
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return hashes, st, nil
}
