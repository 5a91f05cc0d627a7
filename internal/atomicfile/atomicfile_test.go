package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.json")
	for _, content := range []string{"one", "two"} {
		if err := Write(p, []byte(content), Options{Perm: 0o640}); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != content {
			t.Errorf("content %q, want %q", b, content)
		}
	}
	if fi, _ := os.Stat(p); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left beside it: %v", ents)
	}
}

// A failing Prepare leaves the old file and no temporary one; it runs
// before the data is in the file.
func TestPrepareRunsFirstAndFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secret")
	os.WriteFile(p, []byte("old"), 0o600)
	sawEmpty := false
	err := Write(p, []byte("new"), Options{Perm: 0o600, TempPattern: "x-*.tmp", Prepare: func(f *os.File) error {
		fi, _ := f.Stat()
		sawEmpty = fi.Size() == 0
		return errors.New("no")
	}})
	if err == nil || !sawEmpty {
		t.Fatalf("err %v, prepared on an empty file: %v", err, sawEmpty)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("old content replaced: %q", b)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "x-*.tmp")); len(m) != 0 {
		t.Errorf("temp left: %v", m)
	}
}
