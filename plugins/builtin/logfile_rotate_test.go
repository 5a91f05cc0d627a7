//go:build unix

package builtin

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/picket-monitoring/picket/internal/check"
)

// These tests rotate a log while a writer goroutine appends numbered
// matching lines to it, restart the check now and then (a new Check from
// the same state folder), and prove from the lines each run reports that
// every line is counted exactly once, or, for copytruncate, exactly the
// lines the rotation itself did not destroy.

const numberedPattern = `^line [0-9]+ FATAL$`

var numberedLine = regexp.MustCompile(`^line ([0-9]+) FATAL$`)

// logWriter appends "line N FATAL" lines (and a harmless line after each)
// to path, one write(2) per line, n lines for each n sent to batch. When
// reopen is set it closes its file and opens path anew before its next
// line, as an application does on SIGHUP after logrotate's create.
type logWriter struct {
	t      *testing.T
	path   string
	batch  chan int
	reopen atomic.Bool
	next   int // the next number; read after done
	done   chan struct{}
}

func startWriter(t *testing.T, path string) *logWriter {
	w := &logWriter{t: t, path: path, batch: make(chan int), next: 1, done: make(chan struct{})}
	go w.loop()
	t.Cleanup(func() { w.stop() })
	return w
}

func (w *logWriter) open() *os.File {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		w.t.Errorf("writer: %v", err)
	}
	return f
}

func (w *logWriter) loop() {
	defer close(w.done)
	f := w.open()
	defer func() { f.Close() }()
	for n := range w.batch {
		for range n {
			if w.reopen.Swap(false) {
				f.Close()
				f = w.open()
			}
			if _, err := f.WriteString(fmt.Sprintf("line %d FATAL\n", w.next)); err != nil {
				w.t.Errorf("writer: %v", err)
			}
			if _, err := f.WriteString(fmt.Sprintf("line %d is fine\n", w.next)); err != nil {
				w.t.Errorf("writer: %v", err)
			}
			w.next++
		}
	}
}

// stop ends the writer and returns how many lines it wrote.
func (w *logWriter) stop() int {
	select {
	case <-w.done:
	default:
		close(w.batch)
		<-w.done
	}
	return w.next - 1
}

// tally of the numbered lines the runs reported.
type numberedSeen struct {
	t     *testing.T
	count map[int]int
}

// add takes one run's result: every match is in its long output (the
// runs are kept short of --lastlines 100), and the count must agree.
func (s *numberedSeen) add(r check.Result) {
	s.t.Helper()
	if r.State == check.Unknown {
		s.t.Errorf("run: %s", r.PluginOutput())
	}
	n := 0
	for _, l := range strings.Split(r.LongOutput, "\n") {
		_, text, ok := strings.Cut(l, ": ")
		if !strings.HasPrefix(l, "CRITICAL ") || !ok {
			continue
		}
		m := numberedLine.FindStringSubmatch(text)
		if m == nil {
			s.t.Errorf("unexpected match %q", l)
			continue
		}
		k, _ := strconv.Atoi(m[1])
		s.count[k]++
		n++
	}
	if crit := int(logPerf(s.t, r, "critical")); crit != n || n > 100 {
		s.t.Fatalf("perfdata says %d critical, the long output shows %d", crit, n)
	}
}

// numbersIn lists the numbered matching lines in a file's content, the
// last one even without its newline (a copy can end in the middle of a
// write, and the check reads a copy's unfinished last line as a line).
func numbersIn(data []byte) []int {
	var out []int
	for _, l := range strings.Split(string(data), "\n") {
		if m := numberedLine.FindStringSubmatch(l); m != nil {
			k, _ := strconv.Atoi(m[1])
			out = append(out, k)
		}
	}
	return out
}

func TestLogfileRenameRotationWhileWriting(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", numberedPattern, "--lastlines", "100")
	log := e.path("app.log")
	e.write("app.log", "")
	c := e.check()
	e.run(c)
	w := startWriter(t, log)
	seen := numberedSeen{t: t, count: map[int]int{}}
	rotations, restarts := 0, 0
	for i := range 150 {
		w.batch <- 1 + i%20 // taken once the last batch is written
		if i%7 == 3 {
			// logrotate's create: shift the old ones (the oldest is
			// overwritten), rename, create; then the writer reopens.
			os.Rename(log+".1", log+".2")
			if err := os.Rename(log, log+".1"); err != nil {
				t.Fatal(err)
			}
			e.write("app.log", "")
			w.reopen.Store(true)
			rotations++
		}
		if i%11 == 5 {
			c = e.check()
			restarts++
		}
		seen.add(e.run(c))
	}
	written := w.stop()
	seen.add(e.run(c))
	seen.add(e.run(e.check()))
	for k := 1; k <= written; k++ {
		if seen.count[k] != 1 {
			t.Errorf("line %d counted %d times", k, seen.count[k])
		}
	}
	if len(seen.count) != written {
		t.Errorf("%d numbers counted, %d written", len(seen.count), written)
	}
	t.Logf("%d lines written and each counted once, across %d rotations and %d restarts", written, rotations, restarts)
}

func TestLogfileCopytruncate(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL")
	e.write("app.log", "")
	c := e.check()
	e.run(c)
	e.write("app.log", "FATAL read before\n")
	wantCounts(t, "before", e.run(c), 1, 1, 0, 0)
	// What copytruncate does, step by step: lines written since the last
	// run, the copy, a line in the window between copy and truncation,
	// the truncation, new lines.
	e.write("app.log", "FATAL since the last run\n")
	copyTruncate(t, e.path("app.log"))
	r := e.run(c)
	wantCounts(t, "rest of the copy", r, 1, 1, 0, 0)
	if !strings.Contains(r.LongOutput, "read the rest of its copy "+e.path("app.log.1")) {
		t.Errorf("long output %q", r.LongOutput)
	}
	// The copy is known by the bytes before the read position: the file
	// must not have been empty at the last run.
	e.write("app.log", "FATAL read from the new file\n")
	wantCounts(t, "new file", e.run(c), 1, 1, 0, 0)
	e.write("app.log", "FATAL in the copy\n")
	data, err := os.ReadFile(e.path("app.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path("app.log.1"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.write("app.log", "FATAL in the window: lost by copytruncate\n")
	if err := os.Truncate(e.path("app.log"), 0); err != nil {
		t.Fatal(err)
	}
	e.write("app.log", "FATAL after\n")
	r = e.run(e.check())
	wantCounts(t, "the window", r, 2, 2, 0, 0)
	if strings.Contains(r.LongOutput, "window") {
		t.Errorf("a line written between copy and truncation cannot be read, yet: %q", r.LongOutput)
	}
}

// copyTruncate copies path to path.1 (shifting path.1 to path.2) and
// truncates path, as logrotate's copytruncate does, and returns what it
// copied.
func copyTruncate(t *testing.T, path string) []byte {
	t.Helper()
	os.Rename(path+".1", path+".2")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLogfileCopytruncateWhileWriting(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", numberedPattern, "--lastlines", "100")
	log := e.path("app.log")
	e.write("app.log", "")
	c := e.check()
	e.run(c)
	w := startWriter(t, log)
	seen := numberedSeen{t: t, count: map[int]int{}}
	kept := map[int]bool{} // lines that survive the rotations somewhere
	rotations := 0
	for i := range 150 {
		w.batch <- 1 + i%20
		if i%7 == 3 {
			for _, k := range numbersIn(copyTruncate(t, log)) {
				kept[k] = true
			}
			rotations++
		}
		if i%11 == 5 {
			c = e.check()
		}
		seen.add(e.run(c))
	}
	written := w.stop()
	seen.add(e.run(c))
	seen.add(e.run(e.check()))
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range numbersIn(data) {
		kept[k] = true
	}
	for k := 1; k <= written; k++ {
		switch {
		case kept[k] && seen.count[k] != 1:
			t.Errorf("line %d counted %d times", k, seen.count[k])
		case !kept[k] && seen.count[k] != 0:
			t.Errorf("line %d, written between a copy and its truncation, counted %d times", k, seen.count[k])
		}
	}
	t.Logf("%d lines written across %d copytruncate rotations: %d kept and each counted once, %d lost in the window between copy and truncation",
		written, rotations, len(kept), written-len(kept))
}

// sameIDSys reports one identity for every file, as a file system that
// hands a deleted file's inode to the next new file does: only the
// fingerprint tells the new file from the old.
type sameIDSys struct{ clockSys }

func (s sameIDSys) logStat(name string) (logMeta, error) {
	m, err := s.clockSys.logStat(name)
	m.ID = fileID{Dev: 1, Ino: 1}
	return m, err
}

func (s sameIDSys) openLog(name string) (logReader, logMeta, error) {
	f, m, err := s.clockSys.openLog(name)
	m.ID = fileID{Dev: 1, Ino: 1}
	return f, m, err
}

func TestLogfileInodeReuse(t *testing.T) {
	e := newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL")
	sys := sameIDSys{clockSys{System{StateDir: e.state}, &e.now}}
	e.write("app.log", "old file, first line\n")
	c := e.check()
	c.Run(t.Context(), sys)
	e.write("app.log", "FATAL old\n")
	wantCounts(t, "old file", c.Run(t.Context(), sys), 1, 1, 0, 0)
	if err := os.Remove(e.path("app.log")); err != nil {
		t.Fatal(err)
	}
	e.write("app.log", "FATAL new file, first line, longer than the old one\nFATAL second\n")
	wantCounts(t, "new file with the old identity", c.Run(t.Context(), sys), 2, 2, 0, 0)
}

func TestLogfileRotationVariants(t *testing.T) {
	// The glob matches the rotated names too: a renamed file is followed
	// under its new name, never read again as new.
	e := newLogEnv(t, "-f", "$DIR/app.log*", "--criticalpattern", "FATAL")
	e.write("app.log", "start\n")
	c := e.check()
	e.run(c)
	e.write("app.log", "FATAL 1\n")
	if err := os.Rename(e.path("app.log"), e.path("app.log.1")); err != nil {
		t.Fatal(err)
	}
	r := e.run(c) // between rename and create: nothing is missing
	wantCounts(t, "glob, renamed, not yet created", r, 1, 1, 0, 0)
	if r.State != check.Critical {
		t.Errorf("%s", r.PluginOutput())
	}
	e.write("app.log", "FATAL 2\n")
	wantCounts(t, "glob, new file", e.run(c), 1, 1, 0, 0)
	// copytruncate with the copy inside the glob: the copy is not new.
	e.write("app.log", "FATAL 3\n")
	copyTruncate(t, e.path("app.log"))
	e.write("app.log", "FATAL 4\n")
	wantCounts(t, "glob, copytruncate", e.run(c), 2, 2, 0, 0)
	wantCounts(t, "glob, after", e.run(e.check()), 0, 0, 0, 0)

	// logrotate's olddir: the rotated file moves to another folder.
	e = newLogEnv(t, "-f", "$DIR/app.log", "--criticalpattern", "FATAL", "--archivedir", "$DIR/old")
	if err := os.Mkdir(e.path("old"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.write("app.log", "start\n")
	c = e.check()
	e.run(c)
	e.write("app.log", "FATAL 1\n")
	if err := os.Rename(e.path("app.log"), e.path("old/app.log-20240101")); err != nil {
		t.Fatal(err)
	}
	e.write("app.log", "FATAL 2\n")
	r = e.run(c)
	wantCounts(t, "archivedir", r, 2, 2, 0, 0)
	if want := "CRITICAL " + e.path("old/app.log-20240101") + ": FATAL 1\nCRITICAL " + e.path("app.log") + ": FATAL 2"; !strings.HasSuffix(r.LongOutput, want) {
		t.Errorf("old before new: %q", r.LongOutput)
	}
	// Compressed: not readable, and said so.
	e.write("app.log", "FATAL 3\n")
	c = e.check()
	if err := os.Rename(e.path("app.log"), e.path("old/app.log-20240102.gz")); err != nil {
		t.Fatal(err)
	}
	e.write("app.log", "FATAL 4\n")
	r = e.run(c)
	wantCounts(t, "compressed", r, 1, 1, 0, 0)
	if !strings.Contains(r.LongOutput, "not found under a rotated name (compressed?)") {
		t.Errorf("no word of the lost file: %q", r.LongOutput)
	}
}
