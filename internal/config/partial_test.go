package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// LoadPartial keeps a config with problems, with every problem; one that
// does not decode is nil, as for Load.
func TestLoadPartial(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "picket.toml")
	if err := os.WriteFile(path, []byte("hostname = \"web01\"\nspool_dir = \"relative\"\n[[target]]\naddress = \"nagios:5667\"\nencryption = \"aes\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("Load took a config with problems")
	}
	c, err := LoadPartial(path)
	var te *tomlfile.Error
	if c == nil || !errors.As(err, &te) || len(te.Problems) != 3 {
		t.Fatalf("LoadPartial: %v, %v", c, err)
	}
	if c.Hostname != "web01" || len(c.Targets) != 1 || c.Targets[0].Address != "nagios:5667" || c.StateDir != DefaultStateDir() {
		t.Errorf("config as far as it goes: %+v", c)
	}
	fields := te.Problems[0].Field + " " + te.Problems[1].Field + " " + te.Problems[2].Field
	if !strings.Contains(fields, "spool_dir") || !strings.Contains(fields, "target[0].encryption") {
		t.Errorf("problems %v", te.Problems)
	}
	if err := os.WriteFile(path, []byte("hostname = \"web01\"\nintrval = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadPartial(path); c != nil || err == nil {
		t.Errorf("a file that does not decode: %v, %v", c, err)
	}
}
