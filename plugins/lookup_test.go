//go:build unix

package plugins

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/check"
)

func TestLookup(t *testing.T) {
	first := pluginDir(t, "fake_ok")
	second := pluginDir(t, "fake_ok", "fake_warn")
	if err := os.Mkdir(filepath.Join(first, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	addFakes(t, filepath.Join(first, "sub"), "fake_sub")
	// Not executable in the first folder, executable in the second: the
	// second is used, as a shell skips non-executables in PATH.
	if err := os.WriteFile(filepath.Join(first, "fake_warn"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(first, "check_dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	outsideDir := pluginDir(t, "fake_out")
	// A link to the first folder, as /usr/lib/nagios/plugins may be one.
	link := filepath.Join(t.TempDir(), "plugins")
	if err := os.Symlink(first, link); err != nil {
		t.Fatal(err)
	}
	r := NewRunner(Config{Dirs: []string{first, second}})
	viaLink := NewRunner(Config{Dirs: []string{link}})
	lenient := NewRunner(Config{Dirs: []string{first}, AllowOutside: true})

	tests := []struct {
		name   string
		r      *Runner
		plugin string
		want   string // resolved path, or an error text after "error: "
	}{
		{"bare name, first folder wins", r, "fake_ok", filepath.Join(first, "fake_ok")},
		{"bare name in second folder", r, "fake_warn", filepath.Join(second, "fake_warn")},
		{"relative path below a folder", r, "sub/fake_sub", filepath.Join(first, "sub", "fake_sub")},
		{"relative path with dot", r, "./fake_ok", filepath.Join(first, "fake_ok")},
		{"absolute inside", r, filepath.Join(second, "fake_ok"), filepath.Join(second, "fake_ok")},
		{"never PATH", r, "sh", `error: plugin "sh" not found in ` + first + ", " + second},
		{"a directory", r, "check_dir", "error: plugin " + filepath.Join(first, "check_dir") + " is not a regular file"},
		{"relative escape", r, "sub/../../x", `error: plugin path "sub/../../x" leaves the plugin folders`},
		{"absolute outside", r, filepath.Join(outsideDir, "fake_out"), "error: plugin " + filepath.Join(outsideDir, "fake_out") + " is outside the plugin folders"},
		{"absolute dot-dot escape", r, first + "/../" + filepath.Base(outsideDir) + "/fake_out", "error: plugin " + filepath.Join(outsideDir, "fake_out") + " is outside"},
		{"absolute missing inside", r, filepath.Join(first, "nope"), "error: plugin " + filepath.Join(first, "nope") + " not found"},
		{"outside allowed", lenient, filepath.Join(outsideDir, "fake_out"), filepath.Join(outsideDir, "fake_out")},
		{"folder is a symlink, path through it", viaLink, filepath.Join(link, "fake_ok"), filepath.Join(link, "fake_ok")},
		{"folder is a symlink, path to its target", viaLink, filepath.Join(first, "fake_ok"), filepath.Join(first, "fake_ok")},
		{"symlink escape by dot-dot", viaLink, link + "/../../" + filepath.Base(outsideDir) + "/fake_out",
			"error: plugin " + filepath.Join(outsideDir, "fake_out") + " is outside the plugin folders " + link},
		{"bare name through symlinked folder", viaLink, "fake_ok", filepath.Join(link, "fake_ok")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.r.lookup(tt.plugin)
			if wantErr, ok := strings.CutPrefix(tt.want, "error: "); ok {
				if err == nil || !strings.HasPrefix(err.Error(), wantErr) {
					t.Errorf("lookup(%q) = %q, %v; want error starting %q", tt.plugin, got, err, wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("lookup(%q) = %q, %v; want %q", tt.plugin, got, err, tt.want)
			}
		})
	}
}

// TestLookupInterpreterNeedsNoExecBit: a script run through a configured
// interpreter is found without its exec bit, and the interpreter comes
// first in argv.
func TestLookupInterpreterNeedsNoExecBit(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "check_it.SH")
	if err := os.WriteFile(script, []byte("echo 'OK - via interpreter'; exit 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := NewRunner(Config{Dirs: []string{dir}, Interpreters: map[string][]string{".sh": {"/bin/sh", "-e"}}})
	c := check.Check{Command: "check_it.SH arg"}
	argv, err := r.Command(c)
	if err != nil || strings.Join(argv, " ") != "/bin/sh -e "+script+" arg" {
		t.Fatalf("Command = %q, %v", argv, err)
	}
	res := runGuarded(t, context.Background(), r, c, guard)
	if res.State != check.Warning || res.Output != "OK - via interpreter" {
		t.Errorf("got %v %q", res.State, res.Output)
	}
	if len(DefaultInterpreters()) != 0 {
		t.Errorf("DefaultInterpreters() = %v, want none on Unix", DefaultInterpreters())
	}
}

// TestPluginDroppedBetweenRuns: plugins are looked up at every run, so one
// added to a folder works at the next run without a restart.
func TestPluginDroppedBetweenRuns(t *testing.T) {
	dir := t.TempDir()
	r := NewRunner(Config{Dirs: []string{dir}})
	c := check.Check{Command: "fake_ok"}
	if res := runGuarded(t, context.Background(), r, c, guard); res.State != check.Unknown ||
		res.Output != `plugin "fake_ok" not found in `+dir {
		t.Fatalf("before: %v %q", res.State, res.Output)
	}
	addFakes(t, dir, "fake_ok")
	if res := runGuarded(t, context.Background(), r, c, guard); res.State != check.OK || res.Output != "OK - all good" {
		t.Errorf("after: %v %q", res.State, res.Output)
	}
}
