package leaktest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// HostState is what a running picket makes in the default state_dir of
// this OS: a test that ran an agent or server without its own state_dir
// would make it, and on a real host that is someone's production spool.
// The folders themselves are left out: installing the package (as the
// packaging tests do, maybe at the same time) makes those.
func HostState() []string {
	dir := "/var/lib/picket"
	if runtime.GOOS == "windows" {
		dir = filepath.Join(os.Getenv("ProgramData"), "picket")
	}
	var out []string
	for _, name := range []string{"spool", "losses.json", "control.sock", "externals", "identity.key", "registration.json", "builtin", "server"} {
		out = append(out, filepath.Join(dir, name))
	}
	return out
}

// Untouched notes which of dirs exist now; the function it returns lists
// those that exist afterwards but did not before.
func Untouched(dirs ...string) func() []string {
	before := map[string]bool{}
	for _, d := range dirs {
		_, err := os.Lstat(d)
		before[d] = err == nil
	}
	return func() []string {
		var made []string
		for _, d := range dirs {
			if _, err := os.Lstat(d); err == nil && !before[d] {
				made = append(made, d)
			}
		}
		return made
	}
}

// HostStateUntouched runs a package's tests (m.Run) and fails them when
// they made any of HostState, saying which.
func HostStateUntouched(run func() int) int {
	made := Untouched(HostState()...)
	code := run()
	if m := made(); len(m) > 0 {
		fmt.Fprintf(os.Stderr, "a test wrote into the host's own picket state (a config without its own state_dir?): %v\n", m)
		code = 1
	}
	return code
}
