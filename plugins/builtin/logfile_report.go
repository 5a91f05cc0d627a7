package builtin

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/picket-monitoring/picket/internal/check"
)

// shownLine is the most a matching line takes in the output: the first
// line quotes the last match on its first 200 bytes, the long output each
// of the last matches on its first 300.
const shownLine = 300

// tally counts one run's lines and matches and keeps the last few matching
// lines, each cut to shownLine bytes, so its size is bounded whatever was
// read.
type tally struct {
	m     *logMatcher
	keep  int // matching lines kept for the long output
	lines int64
	// all counts every match of the run, for perfdata: critical,
	// warning, ok.
	all [3]int
	// crit and warn count the matches after the last recovery (an ok
	// pattern match), which decide the state; forgot holds what the last
	// recovery forgot.
	crit, warn int
	forgot     [2]int
	last       [3]logMatch // the last critical, warning, ok match
	recent     []logMatch  // the last keep matches, oldest first
}

type logMatch struct {
	level      check.State
	path, text string
}

func (t *tally) add(path string, line []byte) {
	t.lines++
	lvl, ok := t.m.level(line)
	if !ok {
		return
	}
	m := logMatch{level: lvl, path: path, text: printable(line, shownLine)}
	i := 2
	switch lvl {
	case check.Critical:
		i = 0
		t.crit++
	case check.Warning:
		i = 1
		t.warn++
	default:
		if t.crit+t.warn > 0 {
			t.forgot = [2]int{t.crit, t.warn}
			t.crit, t.warn = 0, 0
		}
	}
	t.all[i]++
	t.last[i] = m
	if t.keep == 0 {
		return
	}
	if len(t.recent) == t.keep {
		copy(t.recent, t.recent[1:])
		t.recent = t.recent[:t.keep-1]
	}
	t.recent = append(t.recent, m)
}

// printable makes a log line fit for plugin output: valid UTF-8, control
// characters as '?', tabs as spaces, at most n bytes.
func printable(b []byte, n int) string {
	var out strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == '\t':
			r = ' '
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			r = '?'
		}
		if out.Len()+utf8.RuneLen(r) > n {
			out.WriteString("…")
			break
		}
		out.WriteRune(r)
	}
	return strings.TrimSpace(out.String())
}

// cut shortens a printable line to n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func problemCounts(crit, warn int) string {
	var parts []string
	if crit > 0 {
		parts = append(parts, fmt.Sprintf("%d critical", crit))
	}
	switch {
	case warn == 1:
		parts = append(parts, "1 warning")
	case warn > 1:
		parts = append(parts, fmt.Sprintf("%d warnings", warn))
	}
	return strings.Join(parts, ", ")
}

// result is the run's check result: the state of the matches left after
// the last recovery, raised by files that could not be read or found.
func (s *logScan) result() check.Result {
	o := outcome{prefix: logfilePrefix}
	t := &s.tally
	spec := s.c.spec()
	switch {
	case t.crit > 0:
		o.add(check.Critical, fmt.Sprintf("%s in %s: %s", problemCounts(t.crit, t.warn), spec, cut(t.last[0].text, 200)))
	case t.warn > 0:
		o.add(check.Warning, fmt.Sprintf("%s in %s: %s", problemCounts(0, t.warn), spec, cut(t.last[1].text, 200)))
	case t.forgot != [2]int{}:
		o.add(check.OK, fmt.Sprintf("recovered in %s: %s (after %s)", spec, cut(t.last[2].text, 200), problemCounts(t.forgot[0], t.forgot[1])))
	case len(s.globbed) == 0 && len(s.next.Files) == 0:
		o.add(s.c.missing, "no file matches "+spec)
	case s.old.fresh && !s.c.eatAll:
		n := fmt.Sprintf("%d files of %s", len(s.next.Files), spec)
		switch {
		case len(s.c.patterns) == 1 && !isGlob(spec):
			n = spec
		case len(s.next.Files) == 1:
			n = "1 file of " + spec
		}
		o.add(check.OK, fmt.Sprintf("first run: %s followed from the end", n))
	default:
		o.add(check.OK, "no errors or warnings in "+spec)
	}
	for i, e := range s.errs {
		if i == 3 {
			o.add(check.Unknown, fmt.Sprintf("and %d more files cannot be read", len(s.errs)-i))
			break
		}
		o.add(check.Unknown, e)
	}
	if s.more {
		o.summary = append(o.summary, fmt.Sprintf("read %s, the rest follows next run", humanBytes(float64(s.c.maxRead))))
	}
	o.long = append(o.long, s.notes...)
	for _, m := range t.recent {
		o.long = append(o.long, fmt.Sprintf("%s %s: %s", m.level, m.path, m.text))
	}
	o.perf = []check.Perf{
		{Label: "lines", Value: float64(t.lines), Min: "0"},
		{Label: "critical", Value: float64(t.all[0]), Min: "0"},
		{Label: "warning", Value: float64(t.all[1]), Min: "0"},
		{Label: "ok", Value: float64(t.all[2]), Min: "0"},
	}
	return o.result()
}
