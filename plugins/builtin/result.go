package builtin

import (
	"errors"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
)

// outcome collects one run's result: the worst state of its items, the
// parts of its first line, long output lines and perfdata.
type outcome struct {
	prefix  string // "DISK", "LOAD", ...
	state   check.State
	summary []string
	long    []string
	perf    []check.Perf
}

// severity orders states as plugins combine them: CRITICAL over WARNING
// over UNKNOWN over OK.
func severity(s check.State) int {
	switch s {
	case check.Critical:
		return 3
	case check.Warning:
		return 2
	case check.Unknown:
		return 1
	}
	return 0
}

// raise makes s the outcome's state if it is worse.
func (o *outcome) raise(s check.State) {
	if severity(s) > severity(o.state) {
		o.state = s
	}
}

func (o *outcome) add(s check.State, text string) {
	o.raise(s)
	o.summary = append(o.summary, text)
}

func (o *outcome) result() check.Result {
	out := o.prefix + " " + o.state.String()
	if len(o.summary) > 0 {
		out += " - " + strings.Join(o.summary, ", ")
	}
	return check.Result{
		State:      o.state,
		Output:     clean(out),
		LongOutput: clean(strings.Join(o.long, "\n")),
		Perfdata:   o.perf,
		ExitCode:   int(o.state),
	}
}

// clean keeps what a check prints from breaking the plugin output format:
// '|' would start perfdata, so it becomes '/'.
func clean(s string) string { return strings.ReplaceAll(s, "|", "/") }

// failed is the UNKNOWN result of a check that could not read what it
// checks. An unsupported feature says so plainly.
func failed(prefix string, err error) check.Result {
	o := outcome{prefix: prefix}
	o.add(check.Unknown, err.Error())
	if errors.Is(err, ErrUnsupported) {
		o.summary[0] = strings.TrimSuffix(err.Error(), ": "+ErrUnsupported.Error())
	}
	return o.result()
}

// limits is a check's warning and critical thresholds; either may be nil.
type limits struct {
	warn, crit *Threshold
}

// state is the state v raises, pct being v as a percentage of its whole
// for percentage thresholds.
func (l limits) state(v, pct float64) check.State {
	switch {
	case l.crit != nil && l.crit.alert(v, pct):
		return check.Critical
	case l.warn != nil && l.warn.alert(v, pct):
		return check.Warning
	}
	return check.OK
}

// perf renders the thresholds for a perfdata item whose value is in the
// absolute unit (whole being 100%), or in percent when asPercent.
func (l limits) perf(whole float64, asPercent bool) (warn, crit string) {
	return perfRange(l.warn, whole, asPercent), perfRange(l.crit, whole, asPercent)
}

func perfRange(t *Threshold, whole float64, asPercent bool) string {
	if t == nil {
		return ""
	}
	switch {
	case t.Percent == asPercent:
		return t.String()
	case t.Percent:
		// Absolute perfdata here is bytes: whole numbers.
		return t.Scale(whole / 100).format(formatInt)
	case whole > 0:
		return t.Scale(100 / whole).format(func(v float64) string { return formatFloat(round(v, 2)) })
	}
	return ""
}
