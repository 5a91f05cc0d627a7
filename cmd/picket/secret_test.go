package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secrets.toml")
	cfg := filepath.Join(dir, "picket.toml")
	os.WriteFile(cfg, []byte("secrets_file = \""+file+"\"\n"), 0o600)
	sec := func(stdin string, args ...string) (int, string) {
		var out, errs bytes.Buffer
		code := dispatch(t.Context(), append([]string{"secret"}, args...), stdio{strings.NewReader(stdin), &out, &errs})
		return code, out.String() + errs.String()
	}
	if code, out := sec("s3cret-value\n", "set", "db", "--config", cfg); code != 0 || strings.Contains(out, "s3cret-value") {
		t.Fatalf("set: %d %q", code, out)
	}
	sec("other-value\n", "set", "--config", cfg, "api.key")
	if code, out := sec("", "list", "--config", cfg); code != 0 || out != "api.key\ndb\n" {
		t.Errorf("list: %d %q", code, out)
	}
	data, _ := os.ReadFile(file)
	if st, _ := os.Stat(file); !strings.Contains(string(data), `"db" = "s3cret-value"`) || st.Mode().Perm() != 0o600 {
		t.Errorf("file %q, mode %v", data, st.Mode().Perm())
	}
	if code, out := sec("short\n", "set", "x", "--config", cfg); code != exitCritical || !strings.Contains(out, "shorter than 6") {
		t.Errorf("a short value: %d %q", code, out)
	}
	if code, _ := sec("", "remove", "db", "--config", cfg); code != 0 {
		t.Errorf("remove: %d", code)
	}
	if code, out := sec("", "remove", "db", "--config", cfg); code != exitCritical || !strings.Contains(out, `no secret "db"`) {
		t.Errorf("remove again: %d %q", code, out)
	}
	if code, _ := sec("", "set", "--config", cfg); code != exitUsage {
		t.Errorf("set without a name: %d", code)
	}
}
