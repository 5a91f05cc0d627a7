package plugins

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/picket-monitoring/picket/plugins/builtin"
)

// BuiltinPrefix starts the first word of a command that runs a built-in
// check: "picket:disk -w 10%" runs `picket plugin disk -w 10%`.
const BuiltinPrefix = "picket:"

// selfExecutable is this process's own binary, resolved once: an absolute
// path, so the re-exec never depends on $PATH or the working folder.
var selfExecutable = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find picket's own executable: %w", err)
	}
	return filepath.Abs(exe)
})

// builtinArgv turns "picket:NAME args..." into the argv of a self re-exec,
// [picket, "plugin", NAME, args...], so a built-in runs with the same
// timeout, tree kill and output handling as any plugin. ok is false for
// any other command. Built-ins need no plugin folder: they are picket's
// own code.
func (r *Runner) builtinArgv(words []string) (argv []string, ok bool, err error) {
	name, ok := strings.CutPrefix(words[0], BuiltinPrefix)
	if !ok {
		return nil, false, nil
	}
	if _, known := builtin.Lookup(name); !known {
		return nil, true, fmt.Errorf("no built-in check %s (picket plugin lists them)", name)
	}
	exe := r.cfg.Self
	if exe == "" {
		if exe, err = selfExecutable(); err != nil {
			return nil, true, err
		}
	}
	return append([]string{exe, "plugin", name}, words[1:]...), true, nil
}
