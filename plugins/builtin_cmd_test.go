//go:build unix

package plugins

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// builtPicket builds the real picket binary into a test folder, so the
// re-exec path runs the same code the agent would.
func builtPicket(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "picket")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/picket-monitoring/picket/cmd/picket").CombinedOutput()
	if err != nil {
		t.Fatalf("build picket: %v\n%s", err, out)
	}
	return bin
}

func TestBuiltinSelfReexec(t *testing.T) {
	bin := builtPicket(t)
	dir := t.TempDir()
	old := filepath.Join(dir, "old.log")
	if err := os.WriteFile(old, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, at, at); err != nil {
		t.Fatal(err)
	}
	// No plugin folders at all: built-ins need none.
	r := NewRunner(Config{Self: bin})
	tests := []struct {
		cmd    string
		state  check.State
		output string // prefix
		perf   []string
	}{
		{"picket:uptime", check.OK, "UPTIME OK - up ", []string{"uptime"}},
		{"picket:disk -w 0% -c 0% -p /", check.OK, "DISK OK - / ", []string{"/", "/ inodes"}},
		{"picket:file_age -w 1h -c 3h -f '" + dir + "/*.log'", check.Warning, "FILE_AGE WARNING - " + old + " is 2h 0m old", []string{"age " + old, "size " + old}},
		{"picket:file_age -w 3h -c 4h -f $BACKUP$", check.OK, "FILE_AGE OK - " + old, []string{"age", "size"}},
		{"picket:procs -C no-such-proc -c 1:", check.Critical, "PROCS CRITICAL - 0 processes with command name 'no-such-proc'", []string{"procs"}},
		{"picket:load -w x", check.Unknown, "LOAD UNKNOWN - bad arguments", nil},
		{"picket:nosuch -w 1", check.Unknown, "no built-in check nosuch (picket plugin lists them)", nil},
	}
	for _, tt := range tests {
		c := check.Check{Host: "h", Command: tt.cmd, Macros: check.NewMacroSet(map[string]string{"BACKUP": old})}
		res := runGuarded(t, context.Background(), r, c, guard)
		if res.State != tt.state || !strings.HasPrefix(res.Output, tt.output) {
			t.Errorf("%s: %v %q, want %v %q…", tt.cmd, res.State, res.Output, tt.state, tt.output)
		}
		if got := perfLabels(res.Perfdata); !slices.Equal(got, tt.perf) {
			t.Errorf("%s: perfdata %q, want %q", tt.cmd, got, tt.perf)
		}
	}

	argv, err := r.Command(check.Check{Command: "picket:disk -p /"})
	if err != nil || !slices.Equal(argv, []string{bin, "plugin", "disk", "-p", "/"}) {
		t.Errorf("Command: %q, %v", argv, err)
	}
}

// A built-in is held to the check's timeout like any plugin, and its
// process is gone when Run returns.
func TestBuiltinTimeout(t *testing.T) {
	bin := builtPicket(t)
	r := NewRunner(Config{Self: bin, KillGrace: time.Second})
	c := check.Check{Command: "picket:cpu -t 1h", Timeout: 300 * time.Millisecond, TimeoutState: check.Critical}
	res := runGuarded(t, context.Background(), r, c, guard)
	if res.State != check.Critical || res.Output != "check timed out after 300ms" {
		t.Errorf("%v %q", res.State, res.Output)
	}
}

func TestBuiltinDefaultsToOwnExecutable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv, err := NewRunner(Config{}).Command(check.Check{Command: "picket:uptime -w 1d:"})
	if err != nil || len(argv) != 5 || argv[1] != "plugin" || argv[2] != "uptime" || !filepath.IsAbs(argv[0]) {
		t.Fatalf("%q, %v", argv, err)
	}
	if a, b := filepath.Base(argv[0]), filepath.Base(self); a != b {
		t.Errorf("executable %s, want this test binary %s", argv[0], self)
	}
}
