package autoreg

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/atomicfile"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// Token is one enrollment token as the server keeps it: its name and the
// SHA-256 of the token, never the token itself, and what it admits.
type Token struct {
	Name string `toml:"name"`
	// SHA256 is the hex digest of the token.
	SHA256 string `toml:"sha256"`
	// Hosts, when set, is a regular expression the whole host name must
	// match.
	Hosts string `toml:"hosts"`
	// Profile, when set, is the profile of every host enrolled with the
	// token, whatever the rules say.
	Profile string `toml:"profile"`
	// Expires, when set, ends the token.
	Expires time.Time `toml:"expires"`
	// MaxUses, when above 0, is how many registrations it admits.
	MaxUses int       `toml:"max_uses"`
	Created time.Time `toml:"created"`

	sum   [sha256.Size]byte
	hosts *regexp.Regexp
}

// ErrTokenRefused is a registration whose token does not admit it: no
// token, an unknown one, expired, used up, or not for this host.
var ErrTokenRefused = errors.New("token refused")

// TokenError says why a token was refused; it wraps ErrTokenRefused. The
// reason names the token (never the token itself), since the client who
// sent it holds it anyway.
type TokenError struct {
	Reason string
	// WrongHost: the token is good, just not for this host (403 rather
	// than 401).
	WrongHost bool
}

func (e *TokenError) Error() string { return "token refused: " + e.Reason }
func (e *TokenError) Unwrap() error { return ErrTokenRefused }

// Tokens is the server's set of enrollment tokens, read from a file that
// is watched for changes (a token is added or revoked by editing it,
// without a restart), with how often each was used, kept in a file of
// the server's state_dir so a restart does not reset max_uses.
//
// The file is either the richer TOML form, [[token]] tables with name,
// sha256, hosts, profile, expires and max_uses (`picket server token add`
// writes it), or the first form: one token per line in clear, blank
// lines and '#' comments ignored, each a token without limits named
// after its line.
type Tokens struct {
	path, usesPath string
	now            func() time.Time // tests move it past the once-a-second check

	mu        sync.Mutex
	tokens    []Token
	uses      map[string]TokenUse // by SHA256
	stat      os.FileInfo
	lastCheck time.Time
	err       error // why the last reload failed; then no token is valid
}

// TokenUse is how often a token enrolled a host.
type TokenUse struct {
	Name     string    `json:"name"`
	Uses     int       `json:"uses"`
	LastUsed time.Time `json:"last_used,omitzero"`
}

// recheckEvery bounds how often Valid looks at the file: a burst of
// registrations costs one stat, not one per request.
const recheckEvery = time.Second

// LoadTokens reads the tokens file and, when usesPath is set, the uses
// recorded there (a missing file is no use yet). A file that other users
// can read is refused (except on Windows, whose ACLs this cannot judge),
// as is a file without a single token, since it would refuse every agent.
func LoadTokens(path, usesPath string) (*Tokens, error) {
	t := &Tokens{path: path, usesPath: usesPath, now: time.Now, uses: map[string]TokenUse{}}
	tokens, st, err := readTokens(path)
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("tokens file %s holds no token: every agent would be refused", path)
	}
	if usesPath != "" {
		if t.uses, err = readUses(usesPath); err != nil {
			return nil, err
		}
	}
	t.tokens, t.stat, t.lastCheck = tokens, st, t.now()
	return t, nil
}

// Check finds token and says whether it admits host: it exists, has not
// expired, is not used up, and host matches its pattern. It takes the
// same time whichever token matches, or none: the comparison is over
// SHA-256 digests of every token, so neither a token's length nor its
// prefix leaks. A refusal is a *TokenError.
func (t *Tokens) Check(token, host string) (Token, error) {
	if t == nil {
		return Token{}, &TokenError{Reason: "this server takes no tokens"}
	}
	t.reloadIfChanged()
	sum := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	found := -1
	for i := range t.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.tokens[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 || token == "" {
		reason := "not a token of this server"
		if t.err != nil {
			reason += " (the tokens file could not be read again, so every token is refused: " + t.err.Error() + ")"
		}
		return Token{}, &TokenError{Reason: reason}
	}
	tok := t.tokens[found]
	now := t.now()
	switch used := t.uses[tok.SHA256].Uses; {
	case !tok.Expires.IsZero() && !now.Before(tok.Expires):
		return Token{}, &TokenError{Reason: fmt.Sprintf("token %q expired at %s", tok.Name, tok.Expires.UTC().Format(time.RFC3339))}
	case tok.MaxUses > 0 && used >= tok.MaxUses:
		return Token{}, &TokenError{Reason: fmt.Sprintf("token %q is used up (%d of %d registrations)", tok.Name, used, tok.MaxUses)}
	case host != "" && tok.hosts != nil && !tok.hosts.MatchString(host):
		return Token{}, &TokenError{WrongHost: true, Reason: fmt.Sprintf("token %q does not admit host %s (hosts %q)", tok.Name, host, tok.Hosts)}
	}
	return tok, nil
}

// Valid reports whether token would admit some host now.
func (t *Tokens) Valid(token string) bool {
	_, err := t.Check(token, "")
	return err == nil
}

// Use counts one registration of tok, and records it in the uses file
// before returning, so max_uses holds across restarts.
func (t *Tokens) Use(tok Token) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.uses[tok.SHA256]
	u.Name, u.Uses, u.LastUsed = tok.Name, u.Uses+1, t.now().UTC()
	t.uses[tok.SHA256] = u
	if t.usesPath == "" {
		return nil
	}
	if err := writeUses(t.usesPath, t.uses); err != nil {
		u.Uses--
		t.uses[tok.SHA256] = u
		return err
	}
	return nil
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
	tokens, st, err := readTokens(t.path)
	if err != nil {
		t.tokens, t.stat, t.err = nil, nil, err
		return
	}
	t.tokens, t.stat, t.err = tokens, st, nil
}

// TokenState is a token with its uses, for `picket server token list`.
type TokenState struct {
	Token
	Uses     int
	LastUsed time.Time
}

// ListTokens reads the tokens file and the uses file for an
// administrator.
func ListTokens(path, usesPath string) ([]TokenState, error) {
	tokens, _, err := readTokens(path)
	if err != nil {
		return nil, err
	}
	uses := map[string]TokenUse{}
	if usesPath != "" {
		if uses, err = readUses(usesPath); err != nil {
			return nil, err
		}
	}
	out := make([]TokenState, len(tokens))
	for i, tok := range tokens {
		u := uses[tok.SHA256]
		out[i] = TokenState{Token: tok, Uses: u.Uses, LastUsed: u.LastUsed}
	}
	return out, nil
}

// readTokens reads either form of the tokens file.
func readTokens(path string) ([]Token, os.FileInfo, error) {
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
	if isTOMLTokens(buf.Bytes()) {
		tokens, err := parseTOMLTokens(path, buf.Bytes())
		return tokens, st, err
	}
	tokens, err := parseLineTokens(path, buf.Bytes())
	return tokens, st, err
}

// isTOMLTokens tells the forms apart by the first line that is neither
// blank nor a comment: a TOML tokens file starts a table there.
func isTOMLTokens(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		return strings.HasPrefix(line, "[")
	}
	return false
}

func parseLineTokens(path string, data []byte) ([]Token, error) {
	var tokens []Token
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tokens = append(tokens, newToken(fmt.Sprintf("line %d", n), sha256.Sum256([]byte(line))))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return tokens, nil
}

func newToken(name string, sum [sha256.Size]byte) Token {
	return Token{Name: name, SHA256: hex.EncodeToString(sum[:]), sum: sum}
}

var (
	tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	sha256RE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

type tokensFile struct {
	Token []Token `toml:"token"`
}

func parseTOMLTokens(path string, data []byte) ([]Token, error) {
	var f tokensFile
	if err := tomlfile.Decode(path, data, &f); err != nil {
		return nil, err
	}
	probs := tomlfile.NewProblems(path, data)
	seen := map[string]bool{}
	for i := range f.Token {
		tok := &f.Token[i]
		at := fmt.Sprintf("token[%d]", i)
		if !tokenNameRE.MatchString(tok.Name) {
			probs.Add(at+".name", fmt.Sprintf("%q: a name is letters, digits, '.', '_' and '-', at most 64", tok.Name))
		} else if seen[tok.Name] {
			probs.Add(at+".name", fmt.Sprintf("%q is the name of another token too", tok.Name))
		}
		seen[tok.Name] = true
		if !sha256RE.MatchString(tok.SHA256) {
			probs.Add(at+".sha256", "want the token's SHA-256 in 64 lower-case hex digits (picket server token add writes it)")
		} else {
			hex.Decode(tok.sum[:], []byte(tok.SHA256))
		}
		if tok.Hosts != "" {
			re, err := regexp.Compile(`^(?:` + tok.Hosts + `)$`)
			if err != nil {
				probs.Add(at+".hosts", fmt.Sprintf("bad regexp: %v", err))
			}
			tok.hosts = re
		}
		if tok.Profile != "" && !profileRE.MatchString(tok.Profile) {
			probs.Add(at+".profile", fmt.Sprintf("invalid profile name %q (letters, digits, '_' and '-' only)", tok.Profile))
		}
		if tok.MaxUses < 0 {
			probs.Add(at+".max_uses", "must not be negative")
		}
	}
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return f.Token, nil
}

// FormatToken writes tok as a [[token]] table of the TOML form.
func FormatToken(tok Token) string {
	var b strings.Builder
	b.WriteString("[[token]]\n")
	fmt.Fprintf(&b, "name = %s\n", tomlQuote(tok.Name))
	fmt.Fprintf(&b, "sha256 = %s\n", tomlQuote(tok.SHA256))
	if tok.Hosts != "" {
		fmt.Fprintf(&b, "hosts = %s\n", tomlQuote(tok.Hosts))
	}
	if tok.Profile != "" {
		fmt.Fprintf(&b, "profile = %s\n", tomlQuote(tok.Profile))
	}
	if !tok.Expires.IsZero() {
		fmt.Fprintf(&b, "expires = %s\n", tok.Expires.UTC().Format(time.RFC3339))
	}
	if tok.MaxUses > 0 {
		fmt.Fprintf(&b, "max_uses = %d\n", tok.MaxUses)
	}
	if !tok.Created.IsZero() {
		fmt.Fprintf(&b, "created = %s\n", tok.Created.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// AddToken adds tok to the tokens file at path (created 0600 if
// missing). A file in the first form is converted to the TOML form first:
// its tokens become tables named legacy-1, legacy-2, ..., holding only
// their hashes. converted says how many were converted. The file is
// replaced in one step and checked by reading it back.
func AddToken(path string, tok Token) (converted int, err error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("tokens file: %w", err)
	}
	var out bytes.Buffer
	if len(bytes.TrimSpace(data)) > 0 && !isTOMLTokens(data) {
		old, err := parseLineTokens(path, data)
		if err != nil {
			return 0, err
		}
		out.WriteString("# picket server enrollment tokens: only their SHA-256 is kept here.\n")
		out.WriteString("# The tokens below came from the one-token-per-line form this file had.\n")
		for i, o := range old {
			o.Name = fmt.Sprintf("legacy-%d", i+1)
			out.WriteString("\n" + FormatToken(o))
		}
		converted = len(old)
	} else {
		out.Write(data)
	}
	if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
		out.WriteByte('\n')
	}
	if out.Len() > 0 {
		out.WriteByte('\n')
	}
	out.WriteString(FormatToken(tok))
	if _, err := parseTOMLTokens(path, out.Bytes()); err != nil {
		return 0, fmt.Errorf("add token: %w", err)
	}
	if err := atomicfile.Write(path, out.Bytes(), atomicfile.Options{Perm: 0o600}); err != nil {
		return 0, fmt.Errorf("tokens file: %w", err)
	}
	return converted, nil
}

type usesFile struct {
	Version int                 `json:"version"`
	Tokens  map[string]TokenUse `json:"tokens"`
}

func readUses(path string) (map[string]TokenUse, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]TokenUse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token uses: %w", err)
	}
	var f usesFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("token uses %s: %w", path, err)
	}
	if f.Tokens == nil {
		f.Tokens = map[string]TokenUse{}
	}
	return f.Tokens, nil
}

func writeUses(path string, uses map[string]TokenUse) error {
	data, err := json.MarshalIndent(usesFile{Version: 1, Tokens: uses}, "", "  ")
	if err != nil {
		return fmt.Errorf("token uses: %w", err)
	}
	// Hashes of tokens an administrator chose by hand may be guessable:
	// the file is as private as the tokens file.
	if err := atomicfile.Write(path, append(data, '\n'), atomicfile.Options{Perm: 0o600}); err != nil {
		return fmt.Errorf("token uses: %w", err)
	}
	return nil
}
