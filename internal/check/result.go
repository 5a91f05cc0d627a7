package check

import (
	"strings"
	"time"
)

// Result is the outcome of running one check once.
type Result struct {
	Host string
	// Service is empty for a host check result, as in NSCA.
	Service string
	State   State
	// Output is the first line of the plugin output, without perfdata.
	Output string
	// LongOutput is the plugin output after the first line, without
	// perfdata; lines are separated by "\n".
	LongOutput string
	Perfdata   []Perf
	// CheckTime is when the check started.
	CheckTime time.Time
	Duration  time.Duration
	// ExitCode is the plugin's raw exit code, or -1 when it did not exit
	// normally (killed by a signal or by the timeout, or never started).
	ExitCode int
}

// IsHostResult reports whether r is a host check result.
func (r Result) IsHostResult() bool { return r.Service == "" }

// PluginOutput renders the result back into the text a plugin would have
// printed, the form NSCA carries and Nagios parses:
//
//	Output | perf perf ...
//	LongOutput
//
// All perfdata goes after the first line's '|', which Nagios accepts, so
// perfdata that came from the long output moves up there. The " | " keeps
// its leading space even when Output is empty, because Nagios' strtok-based
// parser would take a line that starts with '|' as output, not perfdata.
//
// Nothing is escaped: Output must not contain '|' or a newline, and
// LongOutput must not contain '|', or Nagios will split them differently.
// ParsePluginOutput never produces such values.
func (r Result) PluginOutput() string {
	var b strings.Builder
	b.WriteString(r.Output)
	if len(r.Perfdata) > 0 {
		b.WriteString(" |")
		for _, p := range r.Perfdata {
			b.WriteByte(' ')
			b.WriteString(p.String())
		}
	}
	if r.LongOutput != "" {
		b.WriteByte('\n')
		b.WriteString(r.LongOutput)
	}
	return b.String()
}
