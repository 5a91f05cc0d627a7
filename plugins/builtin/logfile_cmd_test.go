//go:build unix

package builtin

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogfileThroughPicketPlugin runs the real binary, `picket plugin
// logfile`, as the agent's self re-exec does: one process per run, the
// read position carried only by the state folder.
func TestLogfileThroughPicketPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the picket binary")
	}
	bin := filepath.Join(t.TempDir(), "picket")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/picket-monitoring/picket/cmd/picket").CombinedOutput(); err != nil {
		t.Fatalf("build picket: %v\n%s", err, out)
	}
	dir, state := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	if err := os.WriteFile(log, []byte("ERROR before the first run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		args := append([]string{"plugin"}, extra...)
		args = append(args, "logfile", "-f", log, "--criticalpattern", "FATAL", "--warningpattern", "ERROR")
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), StateDirEnv+"="+state)
		out, err := cmd.Output()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("picket plugin logfile: %v", err)
		}
		return strings.TrimSpace(string(out)), cmd.ProcessState.ExitCode()
	}
	steps := []struct {
		write, want string
		code        int
	}{
		{"", "LOGFILE OK - first run: " + log + " followed from the end | lines=0;;;0 critical=0;;;0 warning=0;;;0 ok=0;;;0", 0},
		{"FATAL one\nERROR two\n", "LOGFILE CRITICAL - 1 critical, 1 warning in " + log + ": FATAL one | lines=2;;;0 critical=1;;;0 warning=1;;;0 ok=0;;;0\n" +
			"CRITICAL " + log + ": FATAL one\nWARNING " + log + ": ERROR two", 2},
		{"", "LOGFILE OK - no errors or warnings in " + log + " | lines=0;;;0 critical=0;;;0 warning=0;;;0 ok=0;;;0", 0},
		{"ERROR three\n", "LOGFILE WARNING - 1 warning in " + log + ": ERROR three | lines=1;;;0 critical=0;;;0 warning=1;;;0 ok=0;;;0\n" +
			"WARNING " + log + ": ERROR three", 1},
	}
	for i, s := range steps {
		if s.write != "" {
			f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(s.write)
			f.Close()
		}
		out, code := run()
		if out != s.want || code != s.code {
			t.Errorf("run %d: exit %d\n%s\nwant exit %d\n%s", i+1, code, out, s.code, s.want)
		}
	}
	entries, _ := os.ReadDir(state)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "logfile-") {
		t.Errorf("state folder holds %v, want one logfile-*.json", entries)
	}
	// --state-dir of picket plugin wins over the environment: a new folder
	// is a first run.
	if out, code := run("--state-dir", t.TempDir()); code != 0 || !strings.Contains(out, "first run") {
		t.Errorf("--state-dir: exit %d %q", code, out)
	}
}
