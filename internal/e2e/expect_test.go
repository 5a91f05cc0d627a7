package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What nsca 2.10 writes into Nagios' command file, and how tests compare
// it. TestCrossCheck proves these expectations against send_nsca and nsca.

var stampRE = regexp.MustCompile(`^\[(\d+)\] `)

// normalize replaces each line's leading "[<unix time>] " by "[T] " after
// checking that the time is within a minute of now.
func normalize(tb testing.TB, lines []string) []string {
	tb.Helper()
	out := make([]string, len(lines))
	now := time.Now().Unix()
	for i, l := range lines {
		m := stampRE.FindStringSubmatch(l)
		if m == nil {
			tb.Fatalf("line %d has no [timestamp]: %.200q", i+1, l)
		}
		ts, _ := strconv.ParseInt(m[1], 10, 64)
		if d := now - ts; d < -60 || d > 60 {
			tb.Errorf("line %d: timestamp %d is %ds away from now", i+1, ts, d)
		}
		out[i] = "[T] " + l[len(m[0]):]
	}
	return out
}

// checkResult is one input record and what nsca 2.10 makes of it.
type checkResult struct {
	Host, Service string // empty Service: a host check result
	RC            int
	Output        string
}

// record renders r as send_nsca input, fields separated by TAB.
func (r checkResult) record() string {
	if r.Service == "" {
		return fmt.Sprintf("%s\t%d\t%s", r.Host, r.RC, r.Output)
	}
	return fmt.Sprintf("%s\t%s\t%d\t%s", r.Host, r.Service, r.RC, r.Output)
}

// line is the command-file line nsca 2.10 writes for r, with "[T] " for the
// timestamp (see normalize).
func (r checkResult) line() string {
	out := strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(r.Output)
	if r.Service == "" {
		return fmt.Sprintf("[T] PROCESS_HOST_CHECK_RESULT;%s;%d;%s", r.Host, r.RC, out)
	}
	return fmt.Sprintf("[T] PROCESS_SERVICE_CHECK_RESULT;%s;%s;%d;%s", r.Host, r.Service, r.RC, out)
}

// etb separates input records, as send_nsca expects by default.
const etb = "\x17"

// input renders results as send_nsca input, each record ended by ETB.
func input(rs ...checkResult) []byte {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.record())
		b.WriteString(etb)
	}
	return []byte(b.String())
}

// lines is the expected command file for rs, normalized.
func lines(rs ...checkResult) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.line()
	}
	return out
}

// checkLines compares normalized command-file lines with the expected ones.
func checkLines(tb testing.TB, what string, got, want []string) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Errorf("%s: %d lines, want %d", what, len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			tb.Errorf("%s: line %d:\n got %.300q\nwant %.300q", what, i+1, g, w)
		}
	}
}

// waitResults waits until path holds len(want) lines, then checks that it
// holds exactly those, in order, and returns them normalized.
func waitResults(tb testing.TB, what, path string, want ...checkResult) []string {
	tb.Helper()
	got := normalize(tb, waitLines(tb, path, len(want)))
	checkLines(tb, what, got, lines(want...))
	return got
}
