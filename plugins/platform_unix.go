//go:build unix

package plugins

import (
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
	"golang.org/x/text/encoding/charmap"
)

const pathVar = "PATH"

// DefaultInterpreters returns the interpreters used when Config.Interpreters
// is nil. On Unix it is empty: scripts name their interpreter with #!.
func DefaultInterpreters() map[string][]string { return map[string][]string{} }

func shellArgv(line string) []string { return []string{"/bin/sh", "-c", line} }

// nameVariants lists the file names a bare plugin name may have.
func nameVariants(name string) []string { return []string{name} }

// executable asks the kernel rather than reading mode bits, so the answer is
// the one exec will give for the user the agent runs as.
func executable(p string, fi fs.FileInfo) error {
	if err := unix.Access(p, unix.X_OK); err != nil {
		return fmt.Errorf("plugin %s is not executable (mode %s): %w", p, fi.Mode().Perm(), err)
	}
	return nil
}

func envKeyEqual(a, b string) bool { return a == b }

// splitCommand splits a check's command with POSIX shell quoting, as the
// plugins' users write them in a shell.
func splitCommand(line string) ([]string, error) { return splitPOSIX(line) }

// outputCodePages is empty on Unix: plugins write UTF-8, and a byte that is
// not is shown as U+FFFD rather than guessed at.
func outputCodePages() []*charmap.Charmap { return nil }
