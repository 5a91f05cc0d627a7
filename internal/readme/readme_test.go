package readme

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestBlocks(t *testing.T) {
	md := "# T\n\n## A\n\n```\na1\n```\n\n1. item\n   ```toml\n   x = 1\n     y = 2\n   ```\n\n## B\n\n```\nb\n```\n"
	path := filepath.Join(t.TempDir(), "R.md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		heading string
		want    []string
		err     bool
	}{
		{"## A", []string{"a1\n", "x = 1\n  y = 2\n"}, false},
		{"## B", []string{"b\n"}, false},
		{"## C", nil, true},
	}
	for _, tt := range tests {
		got, err := Blocks(path, tt.heading)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Blocks(%q) = %q, %v; want %q", tt.heading, got, err, tt.want)
		}
	}
}
