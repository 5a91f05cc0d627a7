package plugins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
)

// ErrNotStartable is wrapped by every error that keeps a plugin from being
// started: bad quoting, undefined macro, plugin missing, not executable or
// outside the plugin folders.
var ErrNotStartable = errors.New("plugin cannot be started")

// notStartable marks err as ErrNotStartable while keeping its own text.
type notStartable struct{ err error }

func (e notStartable) Error() string { return e.err.Error() }
func (e notStartable) Unwrap() []error {
	return []error{e.err, ErrNotStartable}
}

// Command resolves c to the argv Run would execute, after splitting,
// macro expansion, plugin lookup and interpreter choice. The error says what
// was searched, so `picket config check` can show it as it is.
//
// Secrets are masked in what it returns: it is for showing people.
func (r *Runner) Command(c check.Check) ([]string, error) {
	argv, _, err := r.resolve(c)
	for i := range argv {
		argv[i] = r.cfg.Secrets.Redact(argv[i])
	}
	return argv, err
}

// resolve returns the argv and the environment of one run of c. The plugin
// is looked up anew each time, so a plugin dropped into a folder is found at
// the next run without a restart.
func (r *Runner) resolve(c check.Check) (argv, env []string, err error) {
	macros := r.macros(c)
	base := r.cfg.Env
	if base == nil {
		base = os.Environ()
	}
	extra := map[string]string{}
	r.secretsEnv(c.Command, extra)

	if c.Shell {
		line, err := expandMacros(c.Command, macros)
		if err != nil {
			return nil, nil, notStartable{err}
		}
		if strings.TrimSpace(line) == "" {
			return nil, nil, notStartable{errors.New("empty command")}
		}
		// The shell finds plugins by name like a person would type them,
		// so the plugin folders go first in its PATH.
		path := strings.Join(r.cfg.Dirs, string(os.PathListSeparator))
		if old, ok := lookupEnv(base, pathVar); ok && old != "" {
			path += string(os.PathListSeparator) + old
		}
		if path != "" {
			extra[pathVar] = path
		}
		return shellArgv(line), environment(base, c, macros, extra), nil
	}

	words, err := splitCommand(c.Command)
	if err != nil {
		return nil, nil, notStartable{err}
	}
	// Expanding after splitting keeps a value with spaces (a service
	// description, a Windows path) one argument, without quoting rules.
	for i, w := range words {
		if words[i], err = expandMacros(w, macros); err != nil {
			return nil, nil, notStartable{err}
		}
	}
	if argv, ok, err := r.builtinArgv(words); ok {
		if err != nil {
			return nil, nil, notStartable{err}
		}
		return argv, environment(base, c, macros, extra), nil
	}
	plugin, err := r.lookup(words[0])
	if err != nil {
		return nil, nil, notStartable{err}
	}
	argv = append(argv, r.interpreter(plugin)...)
	argv = append(argv, plugin)
	argv = append(argv, words[1:]...)
	return argv, environment(base, c, macros, extra), nil
}

// lookup finds the file a plugin name means: a bare name in the plugin
// folders (never in $PATH), a relative path below one of them, an absolute
// path inside one of them unless AllowOutside.
func (r *Runner) lookup(name string) (string, error) {
	var candidates []string
	switch {
	case filepath.IsAbs(name):
		p := filepath.Clean(name)
		if !r.cfg.AllowOutside && !r.insideDirs(p) {
			return "", fmt.Errorf("plugin %s is outside the plugin folders %s", p, r.dirList())
		}
		candidates = append(candidates, p)
	case strings.ContainsFunc(name, isSeparator):
		rel := filepath.Clean(name)
		if !filepath.IsLocal(rel) {
			return "", fmt.Errorf("plugin path %q leaves the plugin folders %s", name, r.dirList())
		}
		for _, d := range r.cfg.Dirs {
			candidates = append(candidates, filepath.Join(d, rel))
		}
	default:
		for _, d := range r.cfg.Dirs {
			for _, n := range nameVariants(name) {
				candidates = append(candidates, filepath.Join(d, n))
			}
		}
	}

	var firstErr error
	for _, p := range candidates {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && !fi.Mode().IsRegular() {
			err = fmt.Errorf("plugin %s is not a regular file", p)
		}
		if err == nil && r.interpreter(p) == nil {
			err = executable(p, fi)
		}
		if err == nil {
			// A relative plugin folder must not turn into a bare name,
			// which os/exec would look up in $PATH.
			return filepath.Abs(p)
		}
		// Keep looking: a later folder may hold a usable copy, as a
		// shell skips non-executable files in PATH.
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", firstErr
	}
	if filepath.IsAbs(name) {
		return "", fmt.Errorf("plugin %s not found", candidates[0])
	}
	return "", fmt.Errorf("plugin %q not found in %s", name, r.dirList())
}

// insideDirs reports whether the clean absolute path p lies below a plugin
// folder, as written or with the folder's own symlinks resolved, so
// /usr/lib/nagios/plugins and the directory it links to both count.
// Symlinks below a folder are trusted: whoever may write there placed them.
func (r *Runner) insideDirs(p string) bool {
	for _, d := range r.cfg.Dirs {
		d, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		if within(d, p) {
			return true
		}
		if real, err := filepath.EvalSymlinks(d); err == nil && within(real, p) {
			return true
		}
	}
	return false
}

func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && filepath.IsLocal(rel)
}

func (r *Runner) dirList() string {
	if len(r.cfg.Dirs) == 0 {
		return "(no plugin folders configured)"
	}
	return strings.Join(r.cfg.Dirs, ", ")
}

// interpreter returns the argv prefix that runs the script p, or nil when p
// runs by itself.
func (r *Runner) interpreter(p string) []string {
	ext := strings.ToLower(filepath.Ext(p))
	if ext == "" {
		return nil
	}
	return r.interps[ext]
}

func isSeparator(c rune) bool { return c < 0x80 && os.IsPathSeparator(uint8(c)) }
