package autoreg

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// tokensAt loads a tokens file whose clock the test moves.
func tokensAt(t *testing.T, path string, clock *time.Time) *Tokens {
	t.Helper()
	tk, err := LoadTokens(path, "")
	if err != nil {
		t.Fatal(err)
	}
	tk.now = func() time.Time { return *clock }
	tk.lastCheck = *clock
	return tk
}

func TestTokensValid(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "tokens"),
		"# registration tokens\n\nalpha-0123456789\n   beta-9876543210   \n#gamma-commented\n", 0o600)
	clock := time.Unix(1700000000, 0)
	tk := tokensAt(t, path, &clock)
	for token, want := range map[string]bool{
		"alpha-0123456789":  true,
		"beta-9876543210":   true, // surrounding spaces are not part of it
		"alpha-012345678":   false,
		"alpha-01234567890": false,
		"gamma-commented":   false,
		"#gamma-commented":  false,
		"":                  false,
		"   ":               false,
	} {
		if got := tk.Valid(token); got != want {
			t.Errorf("Valid(%q) = %v, want %v", token, got, want)
		}
	}
}

func TestTokensReloaded(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "tokens"), "old-token\n", 0o600)
	clock := time.Unix(1700000000, 0)
	tk := tokensAt(t, path, &clock)

	// Rewritten in place, then replaced by rename, as editors do.
	writeFile(t, path, "new-token-1\n", 0o600)
	clock = clock.Add(2 * time.Second)
	if !tk.Valid("new-token-1") || tk.Valid("old-token") {
		t.Fatal("a token written into the file is not valid, or a removed one still is")
	}
	tmp := writeFile(t, filepath.Join(dir, "tokens.new"), "new-token-2\n", 0o600)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second)
	if !tk.Valid("new-token-2") || tk.Valid("new-token-1") {
		t.Fatal("a replaced file was not read again")
	}

	// Readable by all after an edit: every token is refused, and Err
	// says why.
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		// The mode alone changes neither size nor mtime: a new
		// inode does.
		tmp := writeFile(t, filepath.Join(dir, "tokens.new"), "new-token-2\n", 0o644)
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(2 * time.Second)
		if tk.Valid("new-token-2") {
			t.Error("a token from a world-readable file is valid")
		}
		if err := tk.Err(); err == nil || !strings.Contains(err.Error(), "readable by every user") {
			t.Errorf("Err() = %v", err)
		}
		writeFile(t, path, "new-token-2\n", 0o600)
		clock = clock.Add(2 * time.Second)
		if !tk.Valid("new-token-2") || tk.Err() != nil {
			t.Errorf("fixed file: valid %v, Err %v", tk.Valid("new-token-2"), tk.Err())
		}
	}

	// A deleted file refuses everyone too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second)
	if tk.Valid("new-token-2") || !errors.Is(tk.Err(), fs.ErrNotExist) {
		t.Errorf("deleted file: token still valid, or Err() = %v", tk.Err())
	}
}

func TestTokensLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadTokens(filepath.Join(dir, "none"), ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	empty := writeFile(t, filepath.Join(dir, "empty"), "# nothing yet\n\n", 0o600)
	if _, err := LoadTokens(empty, ""); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Errorf("file without tokens: err = %v", err)
	}
	if runtime.GOOS != "windows" {
		open := writeFile(t, filepath.Join(dir, "open"), "tok\n", 0o644)
		if _, err := LoadTokens(open, ""); err == nil || !strings.Contains(err.Error(), "readable by every user") {
			t.Errorf("world-readable file: err = %v", err)
		}
	}
}

func TestTokensTOML(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "tokens.toml"), tokensTOML, 0o600)
	tk, err := LoadTokens(path, filepath.Join(dir, "uses.json"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tk.Check("web-token", "web12")
	if err != nil || tok.Name != "web-only" || tok.Profile != "web" {
		t.Fatalf("Check = %+v, %v", tok, err)
	}
	var te *TokenError
	if _, err := tk.Check("web-token", "db1"); !errors.As(err, &te) || !te.WrongHost || !errors.Is(err, ErrTokenRefused) {
		t.Errorf("wrong host: %v", err)
	}
	if tk.Valid("old-token") || !tk.Valid("fleet-token") || tk.Valid("") {
		t.Error("Valid")
	}

	bad := []struct{ file, want string }{
		{"[[token]]\nname = \"a\"\nsha256 = \"xyz\"\n", "tokens.toml:3: token[0].sha256: want the token's SHA-256"},
		{tokenTable("a", "x", "") + tokenTable("a", "y", ""), `token[1].name: "a" is the name of another token too`},
		{tokenTable("a b", "x", ""), "token[0].name"},
		{tokenTable("a", "x", "hosts = \"(\"\n"), "token[0].hosts: bad regexp"},
		{tokenTable("a", "x", "max_uses = -1\n"), "token[0].max_uses: must not be negative"},
		{tokenTable("a", "x", "expires = \"tomorrow\"\n"), "expires"},
		{tokenTable("a", "x", "colour = 1\n"), "tokens.toml:4: token.colour: unknown key"},
		{tokenTable("a", "x", "profile = \"../x\"\n"), "invalid profile name"},
	}
	for _, b := range bad {
		p := writeFile(t, filepath.Join(dir, "tokens.toml"), b.file, 0o600)
		if _, err := LoadTokens(p, ""); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: err = %v, want %q", b.file, err, b.want)
		}
	}
}

// `picket server token add` on a one-token-per-line file converts it: the
// old tokens keep working, now kept as hashes only.
func TestAddTokenConvertsLineFile(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "tokens"), "# old\nalpha-0123456789\n\nbeta-9876543210\n", 0o600)
	sum := sha256.Sum256([]byte("new-token"))
	n, err := AddToken(path, Token{Name: "fleet", SHA256: hex.EncodeToString(sum[:]), Hosts: "web[0-9]+", MaxUses: 3,
		Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil || n != 2 {
		t.Fatalf("AddToken = %d, %v", n, err)
	}
	data := readFile(t, path)
	if strings.Contains(data, "alpha-0123456789") || !strings.Contains(data, "name = \"legacy-1\"") {
		t.Errorf("converted file:\n%s", data)
	}
	tk, err := LoadTokens(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if !tk.Valid("alpha-0123456789") || !tk.Valid("beta-9876543210") {
		t.Error("an old token stopped working")
	}
	if tok, err := tk.Check("new-token", "web1"); err != nil || tok.MaxUses != 3 || !tok.Expires.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("new token: %+v %v", tok, err)
	}
	// A second one is appended, the file kept as it is otherwise.
	sum2 := sha256.Sum256([]byte("second"))
	if n, err := AddToken(path, Token{Name: "second", SHA256: hex.EncodeToString(sum2[:])}); err != nil || n != 0 {
		t.Fatalf("second AddToken = %d, %v", n, err)
	}
	if !strings.HasPrefix(readFile(t, path), data) {
		t.Error("adding a token rewrote the rest of the file")
	}
	if _, err := AddToken(path, Token{Name: "second", SHA256: hex.EncodeToString(sum2[:])}); err == nil {
		t.Error("a second token of the same name was added")
	}
	list, err := ListTokens(path, "")
	if err != nil || len(list) != 4 || list[2].Name != "fleet" {
		t.Errorf("ListTokens = %+v, %v", list, err)
	}
	if runtime.GOOS != "windows" {
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v", st.Mode().Perm())
		}
	}
	// A missing file is created.
	fresh := filepath.Join(dir, "fresh.toml")
	if _, err := AddToken(fresh, Token{Name: "x", SHA256: hex.EncodeToString(sum[:])}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTokens(fresh, ""); err != nil {
		t.Error(err)
	}
}

func FuzzTokensFile(f *testing.F) {
	f.Add([]byte(tokensTOML))
	f.Add([]byte("# x\nplain-token\n"))
	f.Add([]byte("[[token]]\nname = \"a\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\nhosts = \"a|b\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "tokens")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		tk, err := LoadTokens(path, "")
		if err != nil {
			return
		}
		for _, tok := range tk.tokens {
			if len(tok.SHA256) != 64 {
				t.Fatalf("token %+v without a full hash", tok)
			}
		}
		tk.Check("x", "web01")
	})
}
