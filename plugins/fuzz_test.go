package plugins

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/check"
)

func FuzzExpandMacros(f *testing.F) {
	for _, s := range []string{"$USER1$/check_x", "$$", "^up$", "$FOO$", "$HOSTNAME$$SERVICEDESC$", "$$$", "a$b$c", "$\xff$"} {
		f.Add(s)
	}
	macros := map[string]string{"USER1": "/p", "HOSTNAME": "h$x$", "SERVICEDESC": ""}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := expandMacros(s, macros)
		if !strings.Contains(s, "$") && (err != nil || got != s) {
			t.Fatalf("expandMacros(%q) = %q, %v; text without $ must pass unchanged", s, got, err)
		}
		// $$ is the escape for $, so any text escaped that way comes back.
		if back, err := expandMacros(strings.ReplaceAll(s, "$", "$$"), macros); err != nil || back != s {
			t.Fatalf("escaped %q expands to %q, %v", s, back, err)
		}
	})
}

// FuzzCommand splits and expands together: whatever a macro's value holds,
// it arrives as exactly one argument, quoted or not.
func FuzzCommand(f *testing.F) {
	if runtime.GOOS == "windows" {
		f.Skip("POSIX quoting and a plugin without an extension are Unix's rules; Windows' are TestSplitWindows* here and internal/wintest's argv tests")
	}
	f.Add(`-w 80% -c '90%' "x y"`, "web 01")
	f.Add(`'$$HOME' a\ b`, `it's "quoted" $USER1$`)
	f.Add(`| grep`, "")
	f.Add(`"open`, "a;b|c")
	dir := f.TempDir()
	plugin := filepath.Join(dir, "check_x")
	if err := os.WriteFile(plugin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		f.Fatal(err)
	}
	r := NewRunner(Config{Dirs: []string{dir}})
	f.Fuzz(func(t *testing.T, line, value string) {
		c := check.Check{Host: value}
		for _, cmd := range []string{"check_x $HOSTNAME$", `check_x "$HOSTNAME$"`, "check_x '$HOSTNAME$'"} {
			c.Command = cmd
			argv, err := r.Command(c)
			if err != nil || !slices.Equal(argv, []string{plugin, value}) {
				t.Fatalf("Command(%q) with $HOSTNAME$ = %q: %q, %v", cmd, value, argv, err)
			}
		}
		c.Command = "check_x " + line
		argv, err := r.Command(c)
		if err != nil {
			return
		}
		if argv[0] != plugin {
			t.Fatalf("Command(%q) runs %q, want %q", c.Command, argv[0], plugin)
		}
		if !strings.Contains(line, "$") {
			words, err := splitCommand(c.Command)
			if err != nil || !slices.Equal(argv[1:], words[1:]) {
				t.Fatalf("Command(%q) = %q, split gives %q, %v", c.Command, argv, words, err)
			}
		}
	})
}
