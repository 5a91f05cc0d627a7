package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/picket-monitoring/picket/internal/agent"
	"github.com/picket-monitoring/picket/internal/spool"
)

// secrets reports on the secrets file, if there is one. Loading the
// config has already refused one that others can read.
func (d *doctor) secrets(context.Context) []finding {
	path := d.cfg.SecretsFile
	if f := d.broken("secrets", path, "secrets_file"); f != nil {
		return f
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // nothing to check: no $SECRET:name$ values
	case err != nil:
		return []finding{fail("secrets", path, err.Error(), "make it readable by the agent's user")}
	}
	msg := count(len(d.cfg.Secrets.Names()), "secret")
	if permsChecked {
		msg += fmt.Sprintf(", mode %04o", st.Mode().Perm())
	}
	return []finding{pass("secrets", path, msg)}
}

// plugins checks each plugin folder and every local check's plugin (the
// externals' checks are checked with their file).
func (d *doctor) plugins(context.Context) []finding {
	if f := d.broken("plugins", "", "plugin_dirs", "macros", "interpreters", "allow_plugins_outside"); f != nil {
		return f
	}
	var out []finding
	for _, dir := range d.cfg.PluginDirs {
		out = append(out, pluginDir(dir))
	}
	runner := agent.NewRunner(d.cfg)
	failed := false
	for _, c := range d.cfg.Checks {
		if _, err := runner.Command(c); err != nil {
			failed = true
			out = append(out, fail("check", c.Key().String(), err.Error(),
				"install the plugin into one of plugin_dirs, or correct the command ("+d.cfg.Origins[c.Key()].String()+")"))
		}
	}
	if !failed && len(d.cfg.Checks) > 0 {
		out = append(out, pass("checks", "", "the plugin of every check is found ("+count(len(d.cfg.Checks), "check")+")"))
	}
	return out
}

func pluginDir(dir string) finding {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return warn("plugins", dir, "does not exist, so no plugin is found there",
			"create it (mkdir -p "+dir+"), or remove it from plugin_dirs")
	case err != nil:
		return fail("plugins", dir, err.Error(), "let the agent's user reach it")
	case !st.IsDir():
		return fail("plugins", dir, "is not a folder", "correct plugin_dirs")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fail("plugins", dir, "cannot be read: "+err.Error(), "let the agent's user read it (chmod o+rx, or its group)")
	}
	if permsChecked && st.Mode().Perm()&0o002 != 0 {
		return fail("plugins", dir, fmt.Sprintf("mode %04o: every user of the host can put a plugin there for the agent to run", st.Mode().Perm()),
			"chmod o-w "+dir)
	}
	return pass("plugins", dir, count(len(entries), "file"))
}

// stateDir checks the folder of the externals' last-known-good and the
// registration's answer.
func (d *doctor) stateDir(context.Context) []finding {
	if f := d.broken("state_dir", d.cfg.StateDir, "state_dir"); f != nil {
		return f
	}
	f, _ := d.folder("state_dir", d.cfg.StateDir)
	return []finding{f}
}

// spool checks the spool's folder, the room on its disk, and whether an
// agent holds it.
func (d *doctor) spool(context.Context) []finding {
	path := d.cfg.SpoolDir
	if f := d.broken("spool", path, "spool_dir", "spool"); f != nil {
		return f
	}
	f, exists := d.folder("spool", path)
	if f.Status == statusFail {
		return []finding{f}
	}
	if s := d.spoolSpace(path, exists); s.Status > f.Status {
		s.Message = f.Message + "; " + s.Message
		f = s
	} else {
		f.Message += "; " + s.Message
	}
	if exists {
		switch pid, held, err := spool.Holder(path); {
		case err != nil:
			f.Message += "; cannot tell whether an agent runs: " + err.Error()
		case held && pid > 0:
			f.Message += fmt.Sprintf("; agent running (pid %d)", pid)
		case held:
			f.Message += "; agent running"
		default:
			f.Message += "; no agent running"
		}
	}
	return []finding{f}
}

// spoolSpace compares the room on the spool's disk with what the spool may
// still grow by: a disk that fills up first loses results the spool's own
// limit would have kept.
func (d *doctor) spoolSpace(path string, exists bool) finding {
	at := path
	var used int64
	if exists {
		entries, _ := os.ReadDir(path)
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				used += info.Size()
			}
		}
	} else {
		at = existingParent(path)
	}
	free, err := freeBytes(at)
	if err != nil {
		return warn("spool", path, "cannot tell the free space: "+err.Error(), "")
	}
	limit := int64(d.cfg.Spool.MaxBytes)
	need := max(limit-used, 0)
	msg := fmt.Sprintf("%s free on its disk, the spool holds %s of max_bytes %s", formatBytes(int64(free)), formatBytes(used), formatBytes(limit))
	switch {
	case free < uint64(need):
		return fail("spool", path, msg+": the disk fills up before the spool's limit, and then results are lost",
			"free space on that disk, or lower spool.max_bytes to what it can hold")
	case free < 2*uint64(need):
		return warn("spool", path, msg+": little room to spare once the spool is full",
			"free space on that disk, or lower spool.max_bytes")
	}
	return pass("spool", path, msg)
}

// folder checks a folder the agent writes: it exists or can be created,
// belongs to and can be written by this user, and is closed to others.
func (d *doctor) folder(check, path string) (f finding, exists bool) {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := existingParent(path)
		if err := canWrite(parent); err != nil {
			return fail(check, path, fmt.Sprintf("does not exist, and %s cannot create it in %s: %v", currentUser(), parent, err),
				fmt.Sprintf("as root: mkdir -m 0700 %s && chown %s %s", path, currentUser(), path)), false
		}
		return pass(check, path, "does not exist yet; the agent creates it (mode 0700)"), false
	case err != nil:
		return fail(check, path, err.Error(), "let the agent's user reach it"), false
	case !st.IsDir():
		return fail(check, path, "is not a folder", "move what is there away, or choose another path"), true
	}
	if !permsChecked {
		return pass(check, path, "exists (owner and ACL are not checked on Windows)"), true
	}
	if uid, ok := fileOwner(st); ok && uid != os.Geteuid() {
		if os.Geteuid() == 0 {
			return warn(check, path, fmt.Sprintf("owned by %s; checked as root, who may write anywhere", userName(uid)),
				fmt.Sprintf("run doctor as the agent's user (sudo -u %s picket doctor) to check its permissions", userName(uid))), true
		}
		return fail(check, path, fmt.Sprintf("owned by %s, not by %s who runs this", userName(uid), currentUser()),
			fmt.Sprintf("chown -R %s %s, or run doctor as the agent's user", currentUser(), path)), true
	}
	if err := canWrite(path); err != nil {
		return fail(check, path, currentUser()+" cannot write to it: "+err.Error(), "chmod u+rwx "+path), true
	}
	mode := st.Mode().Perm()
	if mode&0o007 != 0 {
		return fail(check, path, fmt.Sprintf("mode %04o: every user of the host can look into it", mode),
			"chmod o-rwx "+path), true
	}
	return pass(check, path, fmt.Sprintf("mode %04o, owned by %s", mode, currentUser())), true
}

// existingParent is the nearest folder above path that exists.
func existingParent(path string) string {
	for p := filepath.Dir(path); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil || p == filepath.Dir(p) {
			return p
		}
	}
}

// formatBytes writes a size as people read it: "512 B", "1.5 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// count writes "1 check", "2 checks".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
