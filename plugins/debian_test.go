//go:build linux

package plugins

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/picket-monitoring/picket/internal/check"
)

// debianPlugins is where Debian's monitoring-plugins-basic installs.
const debianPlugins = "/usr/lib/nagios/plugins"

// requireDebianPlugins fails, never skips silently, when the real plugins
// are missing; only -short may skip them.
func requireDebianPlugins(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(debianPlugins, n)); err != nil {
			if testing.Short() {
				t.Skipf("%s missing (-short): %v", n, err)
			}
			t.Fatalf("%s/%s missing: install the Debian package monitoring-plugins-basic (or run with -short): %v",
				debianPlugins, n, err)
		}
	}
}

func TestDebianPlugins(t *testing.T) {
	requireDebianPlugins(t, "check_dummy", "check_load", "check_disk", "check_procs")
	r := NewRunner(Config{Dirs: []string{debianPlugins}})
	tests := []struct {
		cmd    string
		state  check.State // -1: any valid state
		output string
		perf   []string
	}{
		{cmd: `$USER1$/check_dummy 1 "hello there"`, state: check.Warning, output: "WARNING: hello there"},
		{cmd: `check_dummy 0 '$HOSTNAME$ is fine'`, state: check.OK, output: "OK: web 01 is fine"},
		{cmd: `check_dummy 2`, state: check.Critical, output: "CRITICAL"},
		{cmd: `check_dummy 7 odd`, state: check.Unknown, output: "UNKNOWN: Status 7 is not a supported error state"},
		{cmd: `check_load -w 1000,1000,1000 -c 2000,2000,2000`, state: check.OK, perf: []string{"load1", "load5", "load15"}},
		{cmd: `check_disk -w 0% -c 0% -p /`, state: -1, perf: []string{"/"}},
		{cmd: `check_procs -w 1000000 -c 2000000`, state: check.OK, perf: []string{"procs"}},
	}
	for _, tt := range tests {
		c := check.Check{Host: "web 01", Command: tt.cmd}
		res := runGuarded(t, context.Background(), r, c, guard)
		if tt.state >= 0 && res.State != tt.state || res.ExitCode < 0 || res.ExitCode > 3 {
			t.Errorf("%s: State %v exit %d (output %q), want %v", tt.cmd, res.State, res.ExitCode, res.Output, tt.state)
		}
		if tt.output != "" && res.Output != tt.output {
			t.Errorf("%s: Output %q, want %q", tt.cmd, res.Output, tt.output)
		}
		if got := perfLabels(res.Perfdata); !slices.Equal(got, tt.perf) {
			t.Errorf("%s: perfdata labels %q, want %q (output %q)", tt.cmd, got, tt.perf, res.Output)
		}
	}
}
