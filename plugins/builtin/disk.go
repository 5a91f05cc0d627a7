package builtin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
)

var diskBuiltin = Builtin{
	Name:    "disk",
	Summary: "free space and inodes by mount point or drive, a glob, or all, like check_disk",
	usage: `Usage: picket plugin disk [-w RANGE] [-c RANGE] [-W PCT] [-K PCT] [-p PATH]... [-x PATH]... [-X TYPE]... [-A] [-l] [-e]

Checks free space of file systems, like check_disk: "-w 10%" warns when
less than 10% is free, "-w 500MB" when less than 500 MiB is free (a bare
number is MiB, as check_disk counts). Full range syntax is taken as written,
on free space. -W and -K do the same for free inodes, in percent.

-p takes a mount point, any path on a file system, a Windows drive (C:) or
a glob over mount points (/srv/*); it may be repeated. Without -p (or with
-A) every real file system is checked: proc, sysfs, cgroup, tmpfs, overlay
layers of snaps (squashfs) and other pseudo file systems are left out, as
are file systems of size zero.

Percentages are of the space a user can fill (used plus available, without
the blocks reserved for root), as df shows them.

Example: picket plugin disk -w 10% -c 5% -p / -p /var`,
	define: defineDisk,
}

type diskCheck struct {
	space, inodes limits
	paths         []string
	exclude       []string
	excludeTypes  []string
	all           bool
	localOnly     bool
	errorsOnly    bool
}

func defineDisk(f *flags) func() (Check, error) {
	c := &diskCheck{}
	q := sizes(1<<20, true)
	f.minimum(&c.space.warn, q, "w", "warning", "warn when free space is below this: percent or size")
	f.minimum(&c.space.crit, q, "c", "critical", "critical when free space is below this: percent or size")
	f.minimum(&c.inodes.warn, percentOnly, "W", "iwarning", "warn when free inodes are below this percent")
	f.minimum(&c.inodes.crit, percentOnly, "K", "icritical", "critical when free inodes are below this percent")
	f.list(&c.paths, "p", "path", "PATH", "mount point, path, drive or glob to check (repeatable)")
	f.list(&c.exclude, "x", "exclude-device", "PATH", "mount point or glob to leave out (repeatable)")
	f.list(&c.excludeTypes, "X", "exclude-type", "TYPE", "file system type to leave out (repeatable)")
	f.boolean(&c.all, "A", "all", "check every real file system (the default without -p)")
	f.boolean(&c.localOnly, "l", "local", "leave out network file systems (nfs, cifs, ...)")
	f.boolean(&c.errorsOnly, "e", "errors-only", "name only the file systems that are not OK")
	return func() (Check, error) {
		for _, t := range []*Threshold{c.inodes.warn, c.inodes.crit} {
			if t != nil && !t.Percent && !isOpen(t.Range) {
				return nil, fmt.Errorf("inode thresholds are percentages (-W 10%%)")
			}
		}
		for _, p := range append(slices.Clone(c.paths), c.exclude...) {
			if _, err := filepath.Match(p, ""); err != nil {
				return nil, fmt.Errorf("bad pattern %q: %w", p, err)
			}
		}
		return c, nil
	}
}

// isOpen reports a range without bounds, which a percent sign is not
// needed for.
func isOpen(r Range) bool { return r.Start == 0 && r.End > 1e308 }

// pseudoTypes are file systems that hold no data of their own, or are
// full by design (squashfs images), so checking them only makes noise.
var pseudoTypes = map[string]bool{
	"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true, "devtmpfs": true,
	"tmpfs": true, "securityfs": true, "debugfs": true, "tracefs": true, "pstore": true, "bpf": true,
	"mqueue": true, "hugetlbfs": true, "configfs": true, "fusectl": true, "binfmt_misc": true,
	"autofs": true, "rpc_pipefs": true, "nsfs": true, "squashfs": true, "efivarfs": true,
	"selinuxfs": true, "ramfs": true, "overlay": false, "fuse.lxcfs": true, "fuse.gvfsd-fuse": true,
	"devfs": true, "nullfs": true, "iso9660": true, "udf": true,
}

var networkTypes = map[string]bool{
	"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true, "fuse.sshfs": true,
	"9p": true, "afs": true, "ceph": true, "glusterfs": true, "fuse.glusterfs": true,
}

// target is one file system to check, under the name the output uses.
type target struct {
	name, path string
	listed     bool // found by listing file systems, not named by -p
}

func (c *diskCheck) Run(ctx context.Context, sys OS) check.Result {
	targets, err := c.targets(ctx, sys)
	if err != nil {
		return failed("DISK", err)
	}
	if len(targets) == 0 {
		return failed("DISK", fmt.Errorf("no file system matches %s", strings.Join(c.paths, ", ")))
	}
	o := outcome{prefix: "DISK"}
	var lines, bad, errs []string
	for _, t := range targets {
		u, err := sys.DiskUsage(ctx, t.path)
		if err != nil {
			o.raise(check.Unknown)
			errs = append(errs, fmt.Sprintf("%s: %v", t.name, err))
			continue
		}
		if u.Size == 0 && t.listed {
			continue
		}
		st, text := c.one(&o, t.name, u)
		o.raise(st)
		lines = append(lines, text)
		if st != check.OK {
			bad = append(bad, text)
		}
	}
	n := len(lines) + len(errs)
	if n == 0 {
		return failed("DISK", errors.New("every file system found has size zero"))
	}
	switch {
	case n <= 3 && !c.errorsOnly:
		o.summary = append(lines, errs...)
	case len(bad)+len(errs) > 0:
		o.summary = append(append(bad, errs...), fmt.Sprintf("%d of %d file systems OK", len(lines)-len(bad), n))
		o.long = lines
	default:
		o.summary = []string{fmt.Sprintf("all %d file systems OK", n)}
		o.long = lines
	}
	return o.result()
}

// one checks one file system, adds its perfdata and says how it is.
func (c *diskCheck) one(o *outcome, name string, u DiskUsage) (check.State, string) {
	size, free := float64(u.Size), float64(u.Avail)
	used := float64(u.Used)
	freePct := percent(free, size)
	st := c.space.state(free, freePct)
	text := fmt.Sprintf("%s %.0f%% used (%s)", name, percent(used, size), humanPair(used, size))
	w, cr := mirrored(c.space, size)
	o.perf = append(o.perf, check.Perf{Label: name, Value: used, UOM: "B", Warn: w, Crit: cr, Min: "0", Max: strconv.FormatUint(u.Size, 10)})
	if u.Inodes > 0 {
		ifree := float64(u.Inodes - min(u.InodesUsed, u.Inodes))
		ipct := percent(ifree, float64(u.Inodes))
		if ist := c.inodes.state(ifree, ipct); severity(ist) > severity(st) {
			st = ist
		}
		if c.inodes.warn != nil || c.inodes.crit != nil {
			text += fmt.Sprintf(", inodes %.0f%% used", 100-ipct)
		}
		w, cr := mirrored(c.inodes, float64(u.Inodes))
		o.perf = append(o.perf, check.Perf{Label: name + " inodes", Value: float64(u.InodesUsed), Warn: w, Crit: cr,
			Min: "0", Max: strconv.FormatUint(u.Inodes, 10)})
	}
	if st != check.OK {
		text += " " + st.String()
	}
	return st, text
}

// mirrored turns thresholds on free space into ones on used space, in
// the perfdata's absolute unit, as check_disk's perfdata carries them.
func mirrored(l limits, total float64) (warn, crit string) {
	f := func(t *Threshold) string {
		if t == nil {
			return ""
		}
		r := t.Range
		if t.Percent {
			r = r.Scale(total / 100)
		}
		r = r.Mirror(total)
		return Range{Start: max(0, r.Start), End: r.End, Inside: r.Inside}.format(formatInt)
	}
	return f(l.warn), f(l.crit)
}

// targets lists what to check: each -p as given (a glob expanded over
// mount points), or every real file system.
func (c *diskCheck) targets(ctx context.Context, sys OS) ([]target, error) {
	var mounts []Filesystem
	needMounts := len(c.paths) == 0 || c.all || slices.ContainsFunc(c.paths, isGlob)
	if needMounts {
		var err error
		if mounts, err = sys.Filesystems(ctx); err != nil {
			return nil, err
		}
	}
	var out []target
	seen := map[string]bool{}
	addTarget := func(t target) {
		if !seen[t.path] && !c.excluded(t.path, "") {
			seen[t.path] = true
			out = append(out, t)
		}
	}
	for _, p := range c.paths {
		if !isGlob(p) {
			addTarget(target{name: p, path: p})
			continue
		}
		for _, m := range mounts {
			if ok, _ := filepath.Match(p, m.Mount); ok && c.wanted(m) {
				addTarget(target{name: m.Mount, path: m.Mount, listed: true})
			}
		}
	}
	if len(c.paths) == 0 || c.all {
		for _, m := range mounts {
			if c.wanted(m) {
				addTarget(target{name: m.Mount, path: m.Mount, listed: true})
			}
		}
	}
	return out, nil
}

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// wanted says whether a listed file system is one to check.
func (c *diskCheck) wanted(m Filesystem) bool {
	t := strings.ToLower(m.Type)
	if pseudoTypes[t] || (c.localOnly && networkTypes[t]) {
		return false
	}
	return !c.excluded(m.Mount, t)
}

func (c *diskCheck) excluded(mount, fsType string) bool {
	for _, x := range c.exclude {
		if ok, _ := filepath.Match(x, mount); ok || x == mount {
			return true
		}
	}
	return fsType != "" && slices.ContainsFunc(c.excludeTypes, func(x string) bool { return strings.EqualFold(x, fsType) })
}
