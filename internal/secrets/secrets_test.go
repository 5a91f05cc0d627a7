package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/tomlfile"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		ok          bool
	}{
		{"db", "s3cret!", true},
		{"db.password", "long enough", true},
		{"A-b_c.9", "123456", true},
		{"9db", "s3cret!", false},
		{"", "s3cret!", false},
		{"db pass", "s3cret!", false},
		{"db", "12345", false},
		{"db", "two\nlines", false},
		{"db", "nul\x00byte", false},
		{strings.Repeat("a", 65), "s3cret!", false},
	} {
		err := Check(tt.name, tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%q, %q) = %v, want ok=%v", tt.name, tt.value, err, tt.ok)
		}
		if err != nil && len(tt.value) >= MinLength && strings.Contains(err.Error(), tt.value) {
			t.Errorf("Check's error shows the value: %v", err)
		}
	}
}

func TestRedact(t *testing.T) {
	s := New(map[string]string{"a": "hunter2!", "b": "hunter2!extra", "c": `p"a\ss`})
	for _, tt := range []struct{ in, want string }{
		{"login hunter2! ok", "login ******** ok"},
		{"hunter2!extra and hunter2!", "******** and ********"}, // the longer one whole
		{`quote p"a\ss`, "quote ********"},
		{"nothing here", "nothing here"},
	} {
		if got := s.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var none *Set
	if none.Redact("x") != "x" || len(none.Names()) != 0 {
		t.Error("a nil Set is not empty")
	}
}

func TestSaveAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.toml")
	values := map[string]string{"db": `o'reilly "quoted" \back`, "api.key": "ünïcödé-Ωmega", "tab": "a\tb\x7fc-long"}
	if err := Save(path, values, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range values {
		if got, ok := s.Lookup(k); !ok || got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if err := Save(path, map[string]string{"x": "short"}, nil); err == nil {
		t.Error("Save took a value too short to mask")
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), mode)
		os.Chmod(p, mode)
		return p
	}
	if s, err := Load(filepath.Join(dir, "none.toml")); err != nil || len(s.Names()) != 0 {
		t.Errorf("a missing file: %v, %v", s.Names(), err)
	}
	bad := write("bad.toml", "ok = \"long enough\"\n\"9x\" = \"long enough\"\nshort = \"1\"\n", 0o600)
	_, err := Load(bad)
	var e *tomlfile.Error
	if !errors.As(err, &e) || len(e.Problems) != 2 || !strings.Contains(err.Error(), "bad.toml:2:") || !strings.Contains(err.Error(), "bad.toml:3:") {
		t.Errorf("Load(bad) = %v, want two problems on lines 2 and 3", err)
	}
	if runtime.GOOS != "windows" {
		open := write("open.toml", "ok = \"long enough\"\n", 0o644)
		if _, err := Load(open); err == nil || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), "long enough") {
			t.Errorf("Load(readable by others) = %v", err)
		}
	}
}

// FuzzSaveLoad: whatever a valid secret holds comes back as it was.
func FuzzSaveLoad(f *testing.F) {
	for _, v := range []string{"hunter2!", `a"b\c'd`, "ünïcödé", "\t\x01\x7f padding"} {
		f.Add(v)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, v string) {
		if Check("k", v) != nil {
			return
		}
		path := filepath.Join(dir, "s.toml")
		if err := Save(path, map[string]string{"k": v}, nil); err != nil {
			t.Fatal(err)
		}
		s, err := Load(path)
		if err != nil {
			t.Fatalf("Load after Save(%q): %v", v, err)
		}
		if got, _ := s.Lookup("k"); got != v {
			t.Fatalf("round trip %q -> %q", v, got)
		}
		if s.Redact("x"+v+"y") != "x"+Masked+"y" {
			t.Fatalf("%q not masked", v)
		}
	})
}
