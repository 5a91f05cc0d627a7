package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

var logfileBuiltin = Builtin{
	Name:    "logfile",
	Summary: "new lines of log files by pattern, across rotation and restarts, like check_logfiles",
	usage: `Usage: picket plugin logfile -f FILE [--criticalpattern RE]... [--warningpattern RE]...
       [--okpattern RE]... [--criticalexception RE]... [--warningexception RE]... [--tag NAME]

Reads the lines written to log files since the last run and matches them,
like check_logfiles: a line matching a critical pattern (and no critical
exception) is critical, else one matching a warning pattern (and no warning
exception) is a warning, else one matching an ok pattern is a recovery that
forgets the criticals and warnings before it in this run. The state is the
worst level left; the output counts the matches and shows the last line of
that level, the long output the last matching lines (--lastlines).

-f is a file or a glob, repeatable; a new file that matches is read from
its start. Rotation by renaming is followed by the file's identity (device
and inode, Windows' file index, and a fingerprint of its content): the rest
of the old file is read before the new one, searched as NAME.1, NAME-DATE
and the like (compressed names are skipped) in its folder and in
--archivedir. A file that got shorter (truncated, copytruncate) is read
from its start again, after the rest of its copy if a copy is found. A line
without its newline waits for it up to --partialwait. Lines longer than
--maxlinelength are matched on their start. Read positions are kept in the
state folder (PICKET_STATE_DIR or --state-dir of picket plugin; the agent
sets it), one file per --tag, or per file and pattern set; the first run
starts at the end of the files that exist (--allyoucaneat: at their start).

Example: picket plugin logfile -f /var/log/app.log --criticalpattern 'FATAL|panic' --warningpattern ERROR --okpattern 'started'`,
	define: defineLogfile,
}

const (
	defaultMaxLine = 64 << 10
	defaultMaxRead = 64 << 20
	logfilePrefix  = "LOGFILE"
)

// logfileCheck is one logfile check: its arguments, and the read positions
// it carries from run to run (loaded from the state folder on the first
// Run, kept here afterwards and saved whenever they move).
type logfileCheck struct {
	patterns    []string
	match       logMatcher
	enc         encodingSpec
	name        string
	lastLines   int
	maxLine     int
	maxRead     int64
	partialWait time.Duration
	missing     check.State
	archiveDirs []string
	eatAll      bool

	mu    sync.Mutex // one Run at a time: they share st and buf
	st    *logState  // nil until the first Run
	saved []byte     // st as last saved, to write only what changed
	buf   []byte
}

// logMatcher holds the patterns, each level's alternatives joined into
// one expression.
type logMatcher struct {
	crit, critExc, warn, warnExc, ok *regexp.Regexp
}

// level says what a line is: Critical, Warning, or OK for a recovery;
// false when it matches nothing.
func (m *logMatcher) level(b []byte) (check.State, bool) {
	switch {
	case m.crit != nil && m.crit.Match(b) && (m.critExc == nil || !m.critExc.Match(b)):
		return check.Critical, true
	case m.warn != nil && m.warn.Match(b) && (m.warnExc == nil || !m.warnExc.Match(b)):
		return check.Warning, true
	case m.ok != nil && m.ok.Match(b):
		return check.OK, true
	}
	return check.OK, false
}

type logfileFlags struct {
	crit, critExc, warn, warnExc, ok []string
	nocase                           bool
	encoding, missing                string
	maxLine, maxRead                 string
}

func defineLogfile(f *flags) func() (Check, error) {
	c := &logfileCheck{lastLines: 5, maxLine: defaultMaxLine, maxRead: defaultMaxRead, partialWait: 30 * time.Second, missing: check.Unknown}
	var a logfileFlags
	f.list(&c.patterns, "f", "logfile", "FILE", "log file or glob (repeatable)")
	f.list(&a.crit, "", "criticalpattern", "REGEX", "a line matching this is critical (repeatable: any)")
	f.list(&a.warn, "", "warningpattern", "REGEX", "a line matching this is a warning (repeatable: any)")
	f.list(&a.ok, "", "okpattern", "REGEX", "a line matching this is a recovery: earlier criticals and warnings\nof this run are forgotten (repeatable: any)")
	f.list(&a.critExc, "", "criticalexception", "REGEX", "a line matching this is not critical (repeatable: any)")
	f.list(&a.warnExc, "", "warningexception", "REGEX", "a line matching this is not a warning (repeatable: any)")
	f.boolean(&a.nocase, "", "nocase", "patterns ignore case")
	f.str(&a.encoding, "", "encoding", "NAME", "auto (default: UTF-16 by its BOM, else UTF-8), utf-8, utf-16\n(BOM, else little endian), utf-16le, utf-16be, or a character set\nsuch as latin1 or windows-1252")
	setName := func(s string) error { c.name = s; return nil }
	f.value("", "tag", "NAME", "name of the saved read positions (default: from files and patterns);\n--name is the same", setName)
	f.fs.Func("name", "same as --tag", setName)
	setLast := func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100 {
			return fmt.Errorf("%q: want 0 to 100", s)
		}
		c.lastLines = n
		return nil
	}
	f.value("", "lastlines", "N", "matching lines shown in the long output (default 5, at most 100);\n--maxlines is the same", setLast)
	f.fs.Func("maxlines", "same as --lastlines", setLast)
	f.str(&a.maxLine, "", "maxlinelength", "SIZE", "longer lines are cut: matched and shown by their start (default 64KB)")
	f.str(&a.maxRead, "", "maxread", "SIZE", "most bytes read in one run; the rest follows next run (default 64MB)")
	f.duration(&c.partialWait, "", "partialwait", "how long a last line without its newline waits for it before it is\nread as it is (default 30s; 0: at once)")
	f.str(&a.missing, "", "logfilemissing", "STATE", "state when no file matches (default unknown)")
	f.list(&c.archiveDirs, "", "archivedir", "DIR", "folder where rotated files are also looked for (repeatable)")
	f.boolean(&c.eatAll, "", "allyoucaneat", "first run reads existing files from their start, not their end")
	return func() (Check, error) {
		c.patterns = append(c.patterns, f.args...)
		if err := c.setup(a); err != nil {
			return nil, err
		}
		return c, nil
	}
}

func (c *logfileCheck) setup(a logfileFlags) error {
	if len(c.patterns) == 0 {
		return errors.New("name a log file with -f")
	}
	for _, p := range c.patterns {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("-f %q: %w", p, err)
		}
	}
	if len(a.crit)+len(a.warn)+len(a.ok) == 0 {
		return errors.New("give --criticalpattern, --warningpattern or --okpattern")
	}
	var err error
	m := &c.match
	for _, p := range []struct {
		re   **regexp.Regexp
		alts []string
		flag string
	}{
		{&m.crit, a.crit, "criticalpattern"}, {&m.critExc, a.critExc, "criticalexception"},
		{&m.warn, a.warn, "warningpattern"}, {&m.warnExc, a.warnExc, "warningexception"},
		{&m.ok, a.ok, "okpattern"},
	} {
		if *p.re, err = joinPatterns(p.alts, a.nocase); err != nil {
			return fmt.Errorf("--%s: %w", p.flag, err)
		}
	}
	if c.enc, err = parseEncoding(a.encoding); err != nil {
		return fmt.Errorf("--encoding: %w", err)
	}
	if a.missing != "" {
		if c.missing, err = check.ParseState(a.missing); err != nil {
			return fmt.Errorf("--logfilemissing: %w", err)
		}
	}
	if err := c.sizes(a); err != nil {
		return err
	}
	return c.stateName(a)
}

func joinPatterns(alts []string, nocase bool) (*regexp.Regexp, error) {
	if len(alts) == 0 {
		return nil, nil
	}
	parts := make([]string, len(alts))
	for i, a := range alts {
		if _, err := regexp.Compile(a); err != nil {
			return nil, err
		}
		parts[i] = "(?:" + a + ")"
	}
	expr := strings.Join(parts, "|")
	if nocase {
		expr = "(?i)" + expr
	}
	return regexp.Compile(expr)
}

func (c *logfileCheck) sizes(a logfileFlags) error {
	for _, s := range []struct {
		text, flag string
		min, max   float64
		set        func(float64)
	}{
		{a.maxLine, "maxlinelength", 16, 16 << 20, func(v float64) { c.maxLine = int(v) }},
		{a.maxRead, "maxread", 64 << 10, 1 << 40, func(v float64) { c.maxRead = int64(v) }},
	} {
		if s.text == "" {
			continue
		}
		v, err := sizes(1, false).parse(s.text)
		if err != nil || v < s.min || v > s.max {
			return fmt.Errorf("--%s %q: want a size from %s to %s", s.flag, s.text, humanBytes(s.min), humanBytes(s.max))
		}
		s.set(v)
	}
	return nil
}

// stateName picks the state file: "logfile-" and --tag, or a hash of what
// decides which lines are read and how they count, so two checks of one
// file with different patterns keep their own positions.
func (c *logfileCheck) stateName(a logfileFlags) error {
	if c.name != "" {
		if strings.ContainsAny(c.name, `/\:`) || c.name == "." || c.name == ".." {
			return fmt.Errorf("--tag %q: use a plain name", c.name)
		}
		c.name = "logfile-" + c.name
		return nil
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%q %q %q %q %q %q %v %q", c.patterns, a.crit, a.critExc, a.warn, a.warnExc, a.ok, a.nocase, c.enc.name))
	c.name = "logfile-" + hex.EncodeToString(h[:8])
	return nil
}

// spec is the file patterns as the output names them.
func (c *logfileCheck) spec() string { return strings.Join(c.patterns, ", ") }

// logFiles is what logfile needs of the OS beyond OS itself: a file's
// identity and size without reading it, an open that lets the writer
// rename or delete the file meanwhile, and a folder listing to find
// rotated files. System has it (logfile_unix.go, logfile_windows.go).
type logFiles interface {
	Glob(pattern string) ([]string, error)
	logStat(name string) (logMeta, error)
	openLog(name string) (logReader, logMeta, error)
	logDir(dir string) ([]string, error)
}

// logReader is an open log file.
type logReader interface {
	io.ReaderAt
	io.Closer
}

// fileID is a file's identity on its machine: (device, inode) on Unix,
// (volume serial number, file index) on Windows; zero where the OS has
// none.
type fileID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// logMeta is what logfile knows of a file before reading it. MTime is in
// nanoseconds.
type logMeta struct {
	ID      fileID
	Size    int64
	MTime   int64
	Regular bool
}

var errNotRegular = errors.New("not a regular file")

// logDir lists the names in dir.
func (System) logDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}

// Run reads what was written since the last run, saves the new read
// positions and then returns the result. Read positions move only when
// they are saved: a run that fails, or whose context ends, leaves them
// where they were, and the next run reads the same lines again.
func (c *logfileCheck) Run(ctx context.Context, sys OS) check.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	files, ok := sys.(logFiles)
	if !ok {
		return failed(logfilePrefix, fmt.Errorf("reading log files: %w", ErrUnsupported))
	}
	if c.st == nil {
		st, raw, err := c.load(sys)
		if err != nil {
			return failed(logfilePrefix, err)
		}
		c.st, c.saved = st, raw
	}
	s := newLogScan(c, files, sys.Now())
	next, err := s.run(ctx, c.st)
	if err != nil {
		return failed(logfilePrefix, err)
	}
	if c.st.fresh || !slices.Equal(next.Files, c.st.Files) {
		if err := c.save(sys, next); err != nil {
			return failed(logfilePrefix, err)
		}
	}
	c.st = next
	return s.result()
}
