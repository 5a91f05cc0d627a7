package autoreg

import (
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
	tk, err := LoadTokens(path)
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
	if _, err := LoadTokens(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	empty := writeFile(t, filepath.Join(dir, "empty"), "# nothing yet\n\n", 0o600)
	if _, err := LoadTokens(empty); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Errorf("file without tokens: err = %v", err)
	}
	if runtime.GOOS != "windows" {
		open := writeFile(t, filepath.Join(dir, "open"), "tok\n", 0o644)
		if _, err := LoadTokens(open); err == nil || !strings.Contains(err.Error(), "readable by every user") {
			t.Errorf("world-readable file: err = %v", err)
		}
	}
}
