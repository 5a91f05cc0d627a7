package builtin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
)

var fileAgeBuiltin = Builtin{
	Name:    "file_age",
	Summary: "age (and size) of files by glob, like check_file_age",
	usage: `Usage: picket plugin file_age -f FILE [-w RANGE] [-c RANGE] [-W SIZE] [-C SIZE] [-i]

Checks how long ago each file was modified, like check_file_age: "-w 90000"
warns when a file is older than 90000 seconds (units s, m, h, d, w allowed:
"-w 25h"); defaults warn 240s, critical 600s. -W and -C are sizes a file
must at least have ("-C 1" is critical for an empty file; units B, KB, MB,
GB allowed). -f may be a glob and may be repeated: every file it matches is
checked, and the worst state counts. A missing file is CRITICAL, or OK
with -i.

Example: picket plugin file_age -w 25h -c 49h -f '/var/backups/*.tar.gz'`,
	define: defineFileAge,
}

var fileSizeBuiltin = Builtin{
	Name:    "file_size",
	Summary: "size of files by glob",
	usage: `Usage: picket plugin file_size -f FILE [-w RANGE] [-c RANGE] [-i]

Checks the size of each file: "-w 1GB" warns when a file is larger than
1 GiB, "-c 1:" is critical for an empty one (units B, KB, MB, GB, TB; a
bare number is bytes). -f may be a glob and may be repeated; the worst
state counts. A missing file is CRITICAL, or OK with -i.

Example: picket plugin file_size -w 1GB -c 2GB -f '/var/log/*.log'`,
	define: defineFileSize,
}

type filesCheck struct {
	prefix        string
	patterns      []string
	age, size     limits
	ignoreMissing bool
	withAge       bool
}

func defineFileAge(f *flags) func() (Check, error) {
	c := &filesCheck{prefix: "FILE_AGE", withAge: true}
	f.threshold(&c.age.warn, seconds, "w", "warning", "warning range of the age (default 240s)")
	f.threshold(&c.age.crit, seconds, "c", "critical", "critical range of the age (default 600s)")
	f.minimum(&c.size.warn, sizes(1, false), "W", "warning-size", "warn when a file is smaller than this")
	f.minimum(&c.size.crit, sizes(1, false), "C", "critical-size", "critical when a file is smaller than this")
	return c.common(f, func() {
		if c.age.warn == nil {
			c.age.warn = &Threshold{Range: Range{End: 240}}
		}
		if c.age.crit == nil {
			c.age.crit = &Threshold{Range: Range{End: 600}}
		}
	})
}

func defineFileSize(f *flags) func() (Check, error) {
	c := &filesCheck{prefix: "FILE_SIZE"}
	f.threshold(&c.size.warn, sizes(1, false), "w", "warning", "warning range of the size")
	f.threshold(&c.size.crit, sizes(1, false), "c", "critical", "critical range of the size")
	return c.common(f, func() {})
}

// common adds the flags both checks share and returns the constructor.
func (c *filesCheck) common(f *flags, defaults func()) func() (Check, error) {
	f.list(&c.patterns, "f", "file", "FILE", "file or glob (repeatable)")
	f.boolean(&c.ignoreMissing, "i", "ignore-missing", "OK when no file matches")
	return func() (Check, error) {
		c.patterns = append(c.patterns, f.args...)
		if len(c.patterns) == 0 {
			return nil, errors.New("name a file with -f")
		}
		defaults()
		return c, nil
	}
}

func (c *filesCheck) Run(ctx context.Context, sys OS) check.Result {
	o := outcome{prefix: c.prefix}
	var files []string
	for _, p := range c.patterns {
		if ctx.Err() != nil {
			return failed(c.prefix, ctx.Err())
		}
		matches, err := sys.Glob(p)
		if err != nil {
			return failed(c.prefix, fmt.Errorf("pattern %q: %w", p, err))
		}
		if len(matches) == 0 && !isGlob(p) {
			matches = []string{p} // Stat says why it is missing
		}
		files = append(files, matches...)
	}
	slices.Sort(files)
	files = slices.Compact(files)
	now := sys.Now()
	var lines []string
	for _, name := range files {
		fi, err := sys.Stat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist) && c.ignoreMissing:
			continue
		case errors.Is(err, fs.ErrNotExist):
			o.raise(check.Critical)
			lines = append(lines, name+" does not exist")
			continue
		case err != nil:
			o.raise(check.Unknown)
			lines = append(lines, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		lines = append(lines, c.one(&o, name, fi, now.Sub(fi.ModTime()).Seconds()))
	}
	if len(files) == 0 || len(lines) == 0 {
		if c.ignoreMissing {
			o.add(check.OK, "no file matches "+strings.Join(c.patterns, ", "))
			return o.result()
		}
		o.add(check.Critical, "no file matches "+strings.Join(c.patterns, ", "))
		return o.result()
	}
	if len(lines) <= 3 {
		o.summary = lines
	} else {
		o.summary = []string{fmt.Sprintf("%d files", len(lines))}
		o.long = lines
	}
	return o.result()
}

// one checks one file and returns its line.
func (c *filesCheck) one(o *outcome, name string, fi fs.FileInfo, age float64) string {
	size := float64(fi.Size())
	st := c.size.state(size, 0)
	var text string
	if c.withAge {
		if s := c.age.state(age, 0); severity(s) > severity(st) {
			st = s
		}
		text = fmt.Sprintf("%s is %s old and %s", name, humanDuration(age), humanBytes(size))
		w, cr := c.age.perf(0, false)
		o.perf = append(o.perf, check.Perf{Label: c.label("age", name), Value: round(age, 0), UOM: "s", Warn: w, Crit: cr})
	} else {
		text = fmt.Sprintf("%s is %s", name, humanBytes(size))
	}
	w, cr := c.size.perf(0, false)
	o.perf = append(o.perf, check.Perf{Label: c.label("size", name), Value: size, UOM: "B", Warn: w, Crit: cr, Min: "0"})
	o.raise(st)
	if st != check.OK {
		text += " " + st.String()
	}
	return text
}

// label is "age" for a single plain file, as check_file_age writes it,
// and "age name" when a glob may match several.
func (c *filesCheck) label(what, name string) string {
	if len(c.patterns) == 1 && !isGlob(c.patterns[0]) {
		return what
	}
	return what + " " + name
}
