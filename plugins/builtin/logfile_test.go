//go:build unix

package builtin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// These tests read real files in a test folder, through System with its
// state folder, as the agent does.

// logEnv is one log check's world: a folder of logs, a state folder and
// the check's arguments. check makes a new Check value each time it is
// asked, which is what an agent restart does.
type logEnv struct {
	t     *testing.T
	dir   string
	state string
	args  []string
	now   time.Time // the clock of clockSys
}

func newLogEnv(t *testing.T, args ...string) *logEnv {
	t.Helper()
	dir := t.TempDir()
	args = slices.Clone(args)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	return &logEnv{t: t, dir: dir, state: t.TempDir(), args: args, now: time.Unix(1_700_000_000, 0)}
}

func (e *logEnv) path(name string) string { return filepath.Join(e.dir, name) }

func (e *logEnv) check() Check {
	e.t.Helper()
	c, err := logfileBuiltin.New(e.args)
	if err != nil {
		e.t.Fatalf("logfile %q: %v", e.args, err)
	}
	return c
}

// clockSys is System with a clock the test moves.
type clockSys struct {
	System
	now *time.Time
}

func (c clockSys) Now() time.Time { return *c.now }

func (e *logEnv) run(c Check) check.Result {
	e.t.Helper()
	return c.Run(context.Background(), clockSys{System{StateDir: e.state}, &e.now})
}

func (e *logEnv) write(name, text string) {
	e.t.Helper()
	f, err := os.OpenFile(e.path(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		e.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		e.t.Fatal(err)
	}
}

func counts(t *testing.T, r check.Result) (lines, crit, warn, ok int) {
	t.Helper()
	v := func(l string) int { return int(logPerf(t, r, l)) }
	return v("lines"), v("critical"), v("warning"), v("ok")
}

func wantCounts(t *testing.T, what string, r check.Result, lines, crit, warn, ok int) {
	t.Helper()
	l, c, w, o := counts(t, r)
	if l != lines || c != crit || w != warn || o != ok {
		t.Errorf("%s: lines/critical/warning/ok %d/%d/%d/%d, want %d/%d/%d/%d\n%s", what, l, c, w, o, lines, crit, warn, ok, r.PluginOutput())
	}
}

func TestLogfileLevels(t *testing.T) {
	args := []string{"-f", "$DIR/app.log", "--criticalpattern", "FATAL", "--criticalpattern", "panic:",
		"--criticalexception", "FATAL test", "--warningpattern", "(?i)error", "--warningexception", "harmless",
		"--okpattern", "service started", "--lastlines", "3"}
	tests := []struct {
		name, text string
		want       want
		long       string
		counts     [4]int
	}{
		{"nothing", "all good\n", want{check.OK, "LOGFILE OK - no errors or warnings in $DIR/app.log", ""}, "", [4]int{1, 0, 0, 0}},
		{"critical wins", "x FATAL disk\ny Error one\nz panic: boom\n",
			want{check.Critical, "LOGFILE CRITICAL - 2 critical, 1 warning in $DIR/app.log: z panic: boom", ""},
			"CRITICAL $DIR/app.log: x FATAL disk\nWARNING $DIR/app.log: y Error one\nCRITICAL $DIR/app.log: z panic: boom", [4]int{3, 2, 1, 0}},
		{"exceptions", "FATAL test run\nerror but harmless\nERROR real\nERROR again\n",
			want{check.Warning, "LOGFILE WARNING - 2 warnings in $DIR/app.log: ERROR again", ""}, "", [4]int{4, 0, 2, 0}},
		{"excepted critical may still warn", "FATAL test error\n",
			want{check.Warning, "LOGFILE WARNING - 1 warning in $DIR/app.log: FATAL test error", ""}, "", [4]int{1, 0, 1, 0}},
		{"recovery forgets", "FATAL a\nERROR b\nservice started\n",
			want{check.OK, "LOGFILE OK - recovered in $DIR/app.log: service started (after 1 critical, 1 warning)", ""}, "", [4]int{3, 1, 1, 1}},
		{"problems after the recovery count", "FATAL a\nservice started\nERROR c\n",
			want{check.Warning, "LOGFILE WARNING - 1 warning in $DIR/app.log: ERROR c", ""}, "", [4]int{3, 1, 1, 1}},
		{"last lines bounded", "FATAL 1\nFATAL 2\nFATAL 3\nFATAL 4\nFATAL 5\n",
			want{check.Critical, "LOGFILE CRITICAL - 5 critical in $DIR/app.log: FATAL 5", ""},
			"CRITICAL $DIR/app.log: FATAL 3\nCRITICAL $DIR/app.log: FATAL 4\nCRITICAL $DIR/app.log: FATAL 5", [4]int{5, 5, 0, 0}},
		{"pipe and control characters", "FATAL a|b\x1b[31m\tc\n",
			want{check.Critical, "LOGFILE CRITICAL - 1 critical in $DIR/app.log: FATAL a/b?[31m c", ""}, "", [4]int{1, 1, 0, 0}},
	}
	for _, tt := range tests {
		e := newLogEnv(t, args...)
		e.write("app.log", "FATAL before the first run\n")
		c := e.check()
		r := e.run(c)
		want{check.OK, "LOGFILE OK - first run: " + e.path("app.log") + " followed from the end", ""}.check(t, tt.name+" first run", r)
		e.write("app.log", tt.text)
		r = e.run(c)
		tt.want.output = strings.ReplaceAll(tt.want.output, "$DIR", e.dir)
		tt.want.check(t, tt.name, r)
		if tt.long != "" && r.LongOutput != strings.ReplaceAll(tt.long, "$DIR", e.dir) {
			t.Errorf("%s: long output\n%s", tt.name, r.LongOutput)
		}
		wantCounts(t, tt.name, r, tt.counts[0], tt.counts[1], tt.counts[2], tt.counts[3])
		wantCounts(t, tt.name+", again", e.run(c), 0, 0, 0, 0)
	}
}

func TestLogfileOptions(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "fatal", "--nocase", "--allyoucaneat", "--tag", "app")
	e.write("app.log", "FATAL old\n")
	r := e.run(e.check())
	wantCounts(t, "allyoucaneat reads what was there", r, 1, 1, 0, 0)
	if _, err := os.Stat(filepath.Join(e.state, "logfile-app.json")); err != nil {
		t.Errorf("--tag app: %v", err)
	}

	e = newLogEnv(t, "-f", "$DIR/none.log", "--criticalpattern", "x", "--logfilemissing", "critical")
	want{check.Critical, "LOGFILE CRITICAL - no file matches " + e.path("none.log"), "lines=0;;;0 critical=0;;;0 warning=0;;;0 ok=0;;;0"}.check(t, "missing", e.run(e.check()))
	e = newLogEnv(t, "-f", "$DIR/none.log", "--criticalpattern", "x")
	want{check.Unknown, "LOGFILE UNKNOWN - no file matches " + e.path("none.log"), ""}.check(t, "missing by default", e.run(e.check()))

	for _, bad := range [][]string{
		{"--criticalpattern", "x"},
		{"-f", "a.log"},
		{"-f", "a.log", "--criticalpattern", "("},
		{"-f", "[", "--criticalpattern", "x"},
		{"-f", "a.log", "--warningpattern", "x", "--encoding", "klingon"},
		{"-f", "a.log", "--warningpattern", "x", "--maxlinelength", "1"},
		{"-f", "a.log", "--warningpattern", "x", "--lastlines", "1000"},
		{"-f", "a.log", "--warningpattern", "x", "--logfilemissing", "bad"},
		{"-f", "a.log", "--warningpattern", "x", "--tag", "../x"},
	} {
		if _, err := logfileBuiltin.New(bad); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want a usage error", bad, err)
		}
	}
}

func TestLogfileRestartReadsEachLineOnce(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL")
	e.write("app.log", "")
	e.run(e.check())
	for i := range 5 {
		e.write("app.log", fmt.Sprintf("FATAL %d\nfine\n", i))
		wantCounts(t, fmt.Sprintf("after restart %d", i), e.run(e.check()), 2, 1, 0, 0)
	}
	wantCounts(t, "nothing new", e.run(e.check()), 0, 0, 0, 0)
}

// An unchanged log costs one stat: nothing is opened, nothing saved.
type countingSys struct {
	clockSys
	opens, saves *int
}

func (c countingSys) openLog(name string) (logReader, logMeta, error) {
	*c.opens++
	return c.clockSys.openLog(name)
}

func (c countingSys) SaveState(name string, data []byte) error {
	*c.saves++
	return c.clockSys.SaveState(name, data)
}

func TestLogfileUnchangedIsCheap(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL")
	e.write("app.log", "one\n")
	var opens, saves int
	sys := countingSys{clockSys{System{StateDir: e.state}, &e.now}, &opens, &saves}
	c := e.check()
	c.Run(context.Background(), sys)
	e.write("app.log", "FATAL two\n")
	c.Run(context.Background(), sys)
	opens, saves = 0, 0
	for range 10 {
		if r := c.Run(context.Background(), sys); r.State != check.OK {
			t.Fatal(r.PluginOutput())
		}
	}
	if opens != 0 || saves != 0 {
		t.Errorf("10 runs over an unchanged log opened it %d times and saved %d times", opens, saves)
	}
}

func TestLogfileTruncation(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL")
	e.write("app.log", "a long first line that will be gone\n")
	c := e.check()
	e.run(c)
	e.write("app.log", "FATAL 1\n")
	wantCounts(t, "before", e.run(c), 1, 1, 0, 0)
	if err := os.Truncate(e.path("app.log"), 0); err != nil {
		t.Fatal(err)
	}
	e.write("app.log", "FATAL 2\n")
	r := e.run(c)
	wantCounts(t, "after truncation", r, 1, 1, 0, 0)
	if !strings.Contains(r.LongOutput, "was truncated") {
		t.Errorf("no word of the truncation: %q", r.LongOutput)
	}
	// Truncated and grown past the old position again: the fingerprint
	// of the bytes before the position tells.
	if err := os.Truncate(e.path("app.log"), 0); err != nil {
		t.Fatal(err)
	}
	e.write("app.log", strings.Repeat("FATAL again\n", 10))
	wantCounts(t, "regrown", e.run(c), 10, 10, 0, 0)
}

func TestLogfileNewFilesInGlob(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/*.log", "--criticalpattern", "FATAL")
	e.write("a.log", "FATAL old\n")
	if err := os.Mkdir(e.path("dir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := e.check()
	want{check.OK, "LOGFILE OK - first run: 1 file of " + e.path("*.log") + " followed from the end", ""}.check(t, "first", e.run(c))
	e.write("b.log", "FATAL in b\n")
	e.write("a.log", "FATAL in a\n")
	r := e.run(c)
	wantCounts(t, "new file from its start", r, 2, 2, 0, 0)
	if want := "CRITICAL " + e.path("a.log") + ": FATAL in a\nCRITICAL " + e.path("b.log") + ": FATAL in b"; r.LongOutput != want {
		t.Errorf("long output %q, want %q", r.LongOutput, want)
	}
	e.write("c.log", "FATAL in c\n")
	c = e.check() // an agent restart
	wantCounts(t, "after a restart", e.run(c), 1, 1, 0, 0)
	if err := os.Remove(e.path("b.log")); err != nil {
		t.Fatal(err)
	}
	r = e.run(c)
	wantCounts(t, "removed", r, 0, 0, 0, 0)
	if !strings.Contains(r.LongOutput, e.path("b.log")+" was replaced or removed") {
		t.Errorf("no word of the removal: %q", r.LongOutput)
	}
}

func TestLogfilePartialLine(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL")
	e.write("app.log", "")
	c := e.check()
	e.run(c)
	e.write("app.log", "FATAL half")
	wantCounts(t, "unfinished", e.run(c), 0, 0, 0, 0)
	e.write("app.log", " a line\n")
	wantCounts(t, "finished", e.run(c), 1, 1, 0, 0)

	e.write("app.log", "FATAL never finished")
	wantCounts(t, "unfinished again", e.run(c), 0, 0, 0, 0)
	e.now = e.now.Add(29 * time.Second)
	wantCounts(t, "29s later", e.run(c), 0, 0, 0, 0)
	e.now = e.now.Add(2 * time.Second)
	c = e.check() // the wait survives a restart
	wantCounts(t, "31s later, after a restart", e.run(c), 1, 1, 0, 0)
	e.write("app.log", " FATAL tail\n")
	wantCounts(t, "its tail is a line of its own", e.run(c), 1, 1, 0, 0)
	e.write("app.log", "done\n")
	wantCounts(t, "next", e.run(c), 1, 0, 0, 0)
}

func TestLogfileUTF16(t *testing.T) {
	for _, tt := range []struct {
		name string
		enc  []string
		big  bool
		bom  bool
	}{
		{"le by bom", nil, false, true},
		{"be by bom", nil, true, true},
		{"le named", []string{"--encoding", "UTF-16LE"}, false, false},
		{"utf-16 without bom", []string{"--encoding", "utf-16"}, false, false},
	} {
		args := append([]string{"-f", "$DIR/app.log", "--criticalpattern", "Überlauf", "--allyoucaneat"}, tt.enc...)
		e := newLogEnv(t, args...)
		var data []byte
		if tt.bom {
			data = utf16Bytes("\uFEFF", tt.big)
		}
		data = append(data, utf16Bytes("Fehler: Überlauf\r\nok\r\n", tt.big)...)
		// Written in two pieces that split a unit: the odd byte waits.
		half := utf16Bytes("zweiter Überlauf\r\n", tt.big)
		data = append(data, half[:5]...)
		e.write("app.log", string(data))
		c := e.check()
		r := e.run(c)
		wantCounts(t, tt.name, r, 2, 1, 0, 0)
		if want := "LOGFILE CRITICAL - 1 critical in " + e.path("app.log") + ": Fehler: Überlauf"; r.Output != want {
			t.Errorf("%s: %q, want %q", tt.name, r.Output, want)
		}
		e.write("app.log", string(half[5:]))
		wantCounts(t, tt.name+", the rest after a restart", e.run(e.check()), 1, 1, 0, 0)
	}
}

func TestLogfileBinaryJunk(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL", "--allyoucaneat")
	junk := make([]byte, 0, 1<<16)
	for i := range 1 << 16 {
		junk = append(junk, byte(i*7919>>3))
	}
	e.write("app.log", string(junk)+"\nFATAL \x00\xff\xfe\x01 after junk\n\x00\x00\x00\n")
	r := e.run(e.check())
	_, crit, _, _ := counts(t, r)
	if want := "LOGFILE CRITICAL - 1 critical in " + e.path("app.log") + ": FATAL ?\uFFFD\uFFFD? after junk"; crit != 1 || r.Output != want {
		t.Errorf("%d critical, %q, want %q", crit, r.Output, want)
	}
	for _, s := range []string{r.Output, r.LongOutput} {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }) {
			t.Errorf("control characters in the output: %q", s)
		}
	}
}

func TestLogfileHugeLine(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL", "--warningpattern", "hidden")
	e.write("app.log", "")
	c := e.check()
	e.run(c)
	big := "FATAL at the start " + strings.Repeat("x", 10<<20) + " hidden at the end\n"
	e.write("app.log", big+"FATAL after\n")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := e.run(c)
	runtime.ReadMemStats(&after)
	wantCounts(t, "10 MB line", r, 2, 2, 0, 0)
	if len(r.Output) > 400 || len(r.LongOutput) > 1000 {
		t.Errorf("output of %d and %d bytes", len(r.Output), len(r.LongOutput))
	}
	// Reading 10 MB must not hold the line: what was allocated is a
	// fraction of it.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Errorf("allocated %d bytes reading a 10 MB line", alloc)
	}

	// A long line written slowly is counted once, when it passes the
	// limit, and its rest is skipped across runs and restarts.
	e.write("app.log", "FATAL slow "+strings.Repeat("y", 40<<10))
	wantCounts(t, "slow line, under the limit", e.run(c), 0, 0, 0, 0)
	e.write("app.log", strings.Repeat("y", 40<<10))
	wantCounts(t, "slow line, past the limit", e.run(c), 1, 1, 0, 0)
	e.write("app.log", strings.Repeat("FATAL y", 40<<10))
	wantCounts(t, "slow line, its rest", e.run(e.check()), 0, 0, 0, 0)
	e.write("app.log", "\nFATAL next\n")
	wantCounts(t, "the line after", e.run(e.check()), 1, 1, 0, 0)
}

func TestLogfileContextEnds(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL")
	e.write("app.log", "")
	c := e.check()
	e.run(c)
	e.write("app.log", "FATAL 1\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := c.Run(ctx, System{StateDir: e.state}); r.State != check.Unknown {
		t.Errorf("cancelled: %s", r.PluginOutput())
	}
	wantCounts(t, "the next run reads it", e.run(c), 1, 1, 0, 0)
}

func TestLogfileMaxRead(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL", "--maxread", "64KB")
	e.write("app.log", "")
	c := e.check()
	e.run(c)
	line := "FATAL " + strings.Repeat("z", 93) + "\n" // 100 bytes
	e.write("app.log", strings.Repeat(line, 1000))
	total := 0
	for i := 0; i < 3; i++ {
		r := e.run(c)
		_, crit, _, _ := counts(t, r)
		total += crit
		if i == 0 && !strings.Contains(r.Output, "the rest follows next run") {
			t.Errorf("first run: %q", r.Output)
		}
	}
	if total != 1000 {
		t.Errorf("%d lines counted in 3 runs of 64 KiB, want 1000", total)
	}
}

func logPerf(t *testing.T, r check.Result, label string) float64 {
	t.Helper()
	for _, p := range r.Perfdata {
		if p.Label == label {
			return p.Value
		}
	}
	t.Fatalf("no perfdata %q in %q", label, r.PluginOutput())
	return 0
}
