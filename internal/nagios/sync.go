package nagios

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/picket-monitoring/picket/internal/atomicfile"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrInvalid is wrapped by the error of Sync when the validator rejected the
// configuration with picket's new objects in it. Sync has then put the
// previous files back.
var ErrInvalid = errors.New("nagios rejects the object configuration")

// DefaultCommandTimeout bounds each validate or reload command.
const DefaultCommandTimeout = 60 * time.Second

// pendingMarker is left in Dir while validated files wait for a reload that
// has not succeeded, so that the next Sync reloads even when nothing changed
// again, also after picket restarted. Nagios skips hidden files.
const pendingMarker = ".picket-reload-pending"

// tempPrefix names the temporary files of atomic writes: hidden and without
// ".cfg", so that a Nagios starting meanwhile never reads one, and
// recognisable, so that Sync clears those a crash left behind.
const tempPrefix = ".picket-"

// Objects keeps Nagios' object configuration for picket's hosts in Dir and
// makes Nagios load it. Set the fields before the first Sync and do not
// change them afterwards; do not copy an Objects after first use.
type Objects struct {
	// Dir is the folder nagios.cfg includes with cfg_dir. picket owns the
	// files in it that start with Header: one <host>.cfg per host (bytes
	// other than letters, digits, '.', '_' and '-' written as %XX) and
	// CommandsFile. Sync creates Dir if it is missing.
	Dir string
	// Validate is the argv of the configuration check, such as
	// ["nagios4", "-v", "/etc/nagios4/nagios.cfg"]. Empty: changes are not
	// validated, which is logged once as a warning.
	Validate []string
	// Reload is the argv that makes Nagios load the objects, such as
	// ["systemctl", "reload", "nagios4"]. Empty: a RESTART_PROGRAM command
	// is written to CommandFile.
	Reload      []string
	CommandFile string
	Options     ObjectOptions
	// Timeout bounds each command run; default DefaultCommandTimeout.
	Timeout time.Duration
	Logger  *slog.Logger // nil discards

	once sync.Once
	// sem serialises Syncs; a channel rather than a mutex so that waiting
	// for a Sync that runs a slow validator still honours ctx.
	sem chan struct{}
	// warnedNoValidate is owned by the holder of sem.
	warnedNoValidate bool
}

// SyncResult says what a Sync changed.
type SyncResult struct {
	Written []string // hosts whose file was created or rewritten, sorted
	Removed []string // hosts whose file was removed, sorted
	// Foreign lists hosts that were left out because their <host>.cfg
	// exists without Header: an administrator's file, never touched. It is
	// reported on every Sync, also one that changed nothing.
	Foreign  []string
	Reloaded bool // Nagios was asked to load the objects
}

// change is one file Sync writes or removes, with what it held before so
// that a failed validation can put it back.
type change struct {
	file    string // base name in Dir
	host    string // empty for CommandsFile
	data    []byte // new content; nil removes the file
	existed bool
	old     []byte
	oldMode fs.FileMode
}

// Sync makes Dir hold exactly the objects of hosts and has Nagios load them.
//
// It renders every host first and changes nothing if any cannot be rendered
// (errors wrap ErrBadValue) or a host is listed twice. Then it writes the
// files whose content changed (temporary file, fsync, rename), removes the
// <host>.cfg files that start with Header but whose host is not listed, and
// writes CommandsFile when it changed. Files without Header are never
// touched; a listed host whose file is one of them is left out and reported
// in Foreign.
//
// When nothing changed, Sync runs nothing and returns an empty result
// (unless an earlier reload failed: it then validates and reloads again).
// Otherwise it runs Validate. If validation fails, or cannot run, or ctx is
// cancelled before it passed, every file written or removed is put back
// byte for byte, so that Nagios keeps loading the previous objects, and the
// error wraps ErrInvalid when the validator said no, quoting its "Error:"
// lines and exit status. After a good validation Sync reloads Nagios: Reload,
// or RESTART_PROGRAM written to CommandFile. A failed reload is an error,
// the validated files stay, and the next Sync tries the reload again.
//
// Concurrent calls run one after the other.
func (o *Objects) Sync(ctx context.Context, hosts []HostObject) (SyncResult, error) {
	if err := o.lock(ctx); err != nil {
		return SyncResult{}, fmt.Errorf("nagios objects: %w", err)
	}
	defer o.unlock()

	if o.Dir == "" {
		return SyncResult{}, errors.New("nagios objects: no objects folder configured")
	}
	if len(o.Reload) == 0 && o.CommandFile == "" {
		// Found before anything is written: objects Nagios is never told
		// to load would only look as if they worked.
		return SyncResult{}, errors.New("nagios objects: neither a reload command nor a command file is configured, so Nagios could not be made to load the objects")
	}
	want, err := render(hosts, o.Options)
	if err != nil {
		return SyncResult{}, fmt.Errorf("nagios objects: %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return SyncResult{}, fmt.Errorf("nagios objects: %w", err)
	}
	o.clearTemps()
	changes, foreign, err := o.plan(want)
	res := SyncResult{Foreign: foreign}
	if err != nil {
		return res, fmt.Errorf("nagios objects in %s: %w", o.Dir, err)
	}
	for _, h := range foreign {
		o.log().Warn("nagios objects: leaving out a host whose file is not picket's", "host", h, "file", filepath.Join(o.Dir, hostFile(h)))
	}
	pending := o.reloadPending()
	if len(changes) == 0 && !pending {
		return res, nil
	}

	if err := o.apply(ctx, changes); err != nil {
		return res, err
	}
	if err := o.validate(ctx); err != nil {
		if len(changes) > 0 {
			if rerr := o.restore(changes); rerr != nil {
				return res, errors.Join(err, rerr)
			}
			err = fmt.Errorf("%w\n(picket put the previous files back)", err)
		}
		return res, err
	}
	for _, c := range changes {
		switch {
		case c.host == "":
		case c.data == nil:
			res.Removed = append(res.Removed, c.host)
		default:
			res.Written = append(res.Written, c.host)
		}
	}
	slices.Sort(res.Written)
	slices.Sort(res.Removed)

	o.setReloadPending(true)
	if err := o.reload(ctx); err != nil {
		return res, fmt.Errorf("%w (the validated files stay; the next sync reloads again)", err)
	}
	o.setReloadPending(false)
	res.Reloaded = true
	o.log().Info("nagios objects synced", "dir", o.Dir, "written", len(res.Written), "removed", len(res.Removed))
	return res, nil
}

func (o *Objects) lock(ctx context.Context) error {
	o.once.Do(func() { o.sem = make(chan struct{}, 1) })
	select {
	case o.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (o *Objects) unlock() { <-o.sem }

func (o *Objects) log() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o *Objects) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultCommandTimeout
	}
	return o.Timeout
}

// rendered is the content a file in Dir should have.
type rendered struct {
	host string // empty for CommandsFile
	data []byte
}

// render renders every host and the commands, keyed by file name.
func render(hosts []HostObject, opts ObjectOptions) (map[string]rendered, error) {
	opts, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	want := make(map[string]rendered, len(hosts)+1)
	if len(hosts) > 0 {
		// Only with a host to use them: a server started before any agent
		// registered has nothing for Nagios, and costs it no restart.
		want[CommandsFile] = rendered{data: renderCommands(opts)}
	}
	var errs []error
	for _, h := range hosts {
		file := hostFile(h.Name)
		if _, dup := want[file]; dup {
			errs = append(errs, fmt.Errorf("host %q: %w: listed twice", h.Name, ErrBadValue))
			continue
		}
		if len(file) > 255 {
			errs = append(errs, fmt.Errorf("host %q: %w: too long for a file name", h.Name, ErrBadValue))
			continue
		}
		data, err := renderHost(h, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want[file] = rendered{host: h.Name, data: data}
	}
	return want, errors.Join(errs...)
}

// plan compares want with Dir and returns the changes to make, sorted by
// file, and the hosts left out because a foreign file holds their name.
func (o *Objects) plan(want map[string]rendered) ([]change, []string, error) {
	var changes []change
	var foreign []string
	for file, r := range want {
		fi, err := os.Lstat(filepath.Join(o.Dir, file))
		if errors.Is(err, fs.ErrNotExist) {
			changes = append(changes, change{file: file, host: r.host, data: r.data})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		old, ours, err := o.readOurs(file, fi)
		if err != nil {
			return nil, nil, err
		}
		if !ours {
			if r.host != "" {
				foreign = append(foreign, r.host)
			}
			continue
		}
		if !bytes.Equal(old, r.data) {
			changes = append(changes, change{file: file, host: r.host, data: r.data, existed: true, old: old, oldMode: fi.Mode().Perm()})
		}
	}

	entries, err := os.ReadDir(o.Dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		file := e.Name()
		if _, keep := want[file]; keep || !strings.HasSuffix(file, ".cfg") || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		old, ours, err := o.readOurs(file, fi)
		if err != nil {
			return nil, nil, err
		}
		if ours {
			changes = append(changes, change{file: file, host: hostOfFile(file), existed: true, old: old, oldMode: fi.Mode().Perm()})
		}
	}
	slices.SortFunc(changes, func(a, b change) int { return strings.Compare(a.file, b.file) })
	slices.Sort(foreign)
	return changes, foreign, nil
}

// readOurs returns the content of file if it starts with Header. Of a file
// that does not, it reads no more than the header's length: it is not ours
// and may be large.
func (o *Objects) readOurs(file string, fi fs.FileInfo) ([]byte, bool, error) {
	if !fi.Mode().IsRegular() {
		return nil, false, nil
	}
	f, err := os.Open(filepath.Join(o.Dir, file))
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	head := make([]byte, len(Header))
	if _, err := io.ReadFull(f, head); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, false, nil
		}
		return nil, false, err
	}
	if string(head) != Header {
		return nil, false, nil
	}
	rest, err := io.ReadAll(f)
	if err != nil {
		return nil, false, err
	}
	return append(head, rest...), true, nil
}

// apply makes the changes. If one fails or ctx is cancelled, it puts back
// the ones already made.
func (o *Objects) apply(ctx context.Context, changes []change) error {
	for i, c := range changes {
		err := ctx.Err()
		if err == nil {
			if c.data == nil {
				err = os.Remove(filepath.Join(o.Dir, c.file))
			} else {
				mode := fs.FileMode(0o644)
				if c.existed {
					mode = c.oldMode
				}
				err = writeAtomic(o.Dir, c.file, c.data, mode)
			}
		}
		if err != nil {
			err = fmt.Errorf("nagios objects in %s: %s: %w", o.Dir, c.file, err)
			if rerr := o.restore(changes[:i]); rerr != nil {
				return errors.Join(err, rerr)
			}
			return err
		}
	}
	if err := atomicfile.SyncDir(o.Dir); err != nil {
		return o.undo(changes, fmt.Errorf("nagios objects in %s: %w", o.Dir, err))
	}
	return nil
}

func (o *Objects) undo(changes []change, err error) error {
	return errors.Join(err, o.restore(changes))
}

// restore puts back what changes replaced. It does not stop at the first
// failure: every file it can restore is one Nagios loads correctly.
func (o *Objects) restore(changes []change) error {
	var errs []error
	for _, c := range changes {
		var err error
		if c.existed {
			err = writeAtomic(o.Dir, c.file, c.old, c.oldMode)
		} else if err = os.Remove(filepath.Join(o.Dir, c.file)); errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.file, err))
		}
	}
	if err := atomicfile.SyncDir(o.Dir); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("nagios objects in %s: could not put back the previous files, Nagios may not start with them: %w", o.Dir, errors.Join(errs...))
	}
	return nil
}

// validate runs the validator, if any. Its warnings are logged.
func (o *Objects) validate(ctx context.Context) error {
	if len(o.Validate) == 0 {
		if !o.warnedNoValidate {
			o.warnedNoValidate = true
			o.log().Warn("nagios objects: no validate command configured; a bad object reaches Nagios unchecked, and Nagios refuses to restart with it")
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("nagios objects: %w", err)
		}
		return nil
	}
	out, err := runCommand(ctx, o.Validate, o.timeout())
	var fe *commandFailed
	if errors.As(err, &fe) {
		return fmt.Errorf("nagios objects: %w: %s %w:\n%s", ErrInvalid, strings.Join(o.Validate, " "), fe, quoteLines(out, "Error"))
	}
	if err != nil {
		return fmt.Errorf("nagios objects: validate: %w", err)
	}
	if w := matchingLines(out, "Warning"); len(w) > 0 {
		o.log().Warn("nagios objects: the validator warns", "command", strings.Join(o.Validate, " "), "warnings", strings.Join(w, "\n"))
	}
	return nil
}

// reload asks Nagios to load the objects.
func (o *Objects) reload(ctx context.Context) error {
	if len(o.Reload) > 0 {
		out, err := runCommand(ctx, o.Reload, o.timeout())
		var fe *commandFailed
		if errors.As(err, &fe) {
			return fmt.Errorf("nagios objects: reload: %s %w:\n%s", strings.Join(o.Reload, " "), fe, tail(out))
		}
		if err != nil {
			return fmt.Errorf("nagios objects: reload: %w", err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	cf := NewCommandFile(o.CommandFile)
	defer cf.Close()
	if err := cf.Write(ctx, AppendCommand(nil, time.Now(), "RESTART_PROGRAM")); err != nil {
		return fmt.Errorf("nagios objects: reload: %w", err)
	}
	return nil
}

func (o *Objects) reloadPending() bool {
	_, err := os.Lstat(filepath.Join(o.Dir, pendingMarker))
	return err == nil
}

// setReloadPending records whether validated files wait for a reload. A
// failure is only logged: at worst a reload is repeated or, if the marker
// cannot be made, a failed reload is retried only with the next change.
func (o *Objects) setReloadPending(pending bool) {
	path := filepath.Join(o.Dir, pendingMarker)
	var err error
	if pending {
		err = os.WriteFile(path, nil, 0o644)
	} else if err = os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if err != nil {
		o.log().Warn("nagios objects: cannot record whether a reload is pending", "err", err)
	}
}

// clearTemps removes temporary files that a crash during an earlier Sync
// left behind.
func (o *Objects) clearTemps() {
	matches, _ := filepath.Glob(filepath.Join(o.Dir, tempPrefix+"*.tmp"))
	for _, m := range matches {
		os.Remove(m)
	}
}

// writeAtomic replaces dir/name with data so that a reader, or Nagios
// starting after a crash, sees either the old or the new content. The mode
// is set because Nagios often runs as another user than picket.
func writeAtomic(dir, name string, data []byte, mode fs.FileMode) error {
	return atomicfile.Write(filepath.Join(dir, name), data, atomicfile.Options{Perm: mode, TempPattern: tempPrefix + "*.tmp"})
}

// hostFile is the file name of a host's objects. Bytes that are unsafe or
// special in file names are written as %XX, as is a leading '.' (Nagios
// skips hidden files) and the first byte of a host that would take
// CommandsFile's name, so that the mapping is one to one.
func hostFile(host string) string {
	var b strings.Builder
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	name := b.String() + ".cfg"
	if name == CommandsFile {
		name = fmt.Sprintf("%%%02X", name[0]) + name[1:]
	}
	return name
}

// hostOfFile reverses hostFile; a name it did not make comes back as its
// stem.
func hostOfFile(file string) string {
	stem := strings.TrimSuffix(file, ".cfg")
	var b []byte
	for i := 0; i < len(stem); i++ {
		if stem[i] != '%' {
			b = append(b, stem[i])
			continue
		}
		if i+2 >= len(stem) {
			return stem
		}
		c, err := hex.DecodeString(stem[i+1 : i+3])
		if err != nil {
			return stem
		}
		b = append(b, c...)
		i += 2
	}
	return string(b)
}

// maxQuoted bounds the validator lines an error quotes.
const maxQuoted = 20

// quoteLines returns the lines of out that start with prefix, or the end of
// out when none does, so that the error always says something.
func quoteLines(out []byte, prefix string) string {
	lines := matchingLines(out, prefix)
	if len(lines) == 0 {
		return tail(out)
	}
	if len(lines) > maxQuoted {
		lines = append(lines[:maxQuoted], fmt.Sprintf("(and %d more)", len(lines)-maxQuoted))
	}
	return strings.Join(lines, "\n")
}

// matchingLines returns the lines of out that start with prefix after
// leading blanks, such as nagios4 -v's "Error: ..." and "Warning: ...".
func matchingLines(out []byte, prefix string) []string {
	var lines []string
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, prefix+":") {
			lines = append(lines, line)
		}
	}
	return lines
}

// tail returns the last few lines of out.
func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > maxQuoted {
		lines = lines[len(lines)-maxQuoted:]
	}
	return strings.Join(lines, "\n")
}
