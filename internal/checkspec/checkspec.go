package checkspec

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/schedule"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// Spec is one [[check]] as written, in the agent's file or in
// externals. Zero values mean "not set": Resolve fills them from
// [defaults], then from the built-in defaults.
type Spec struct {
	Service       string            `toml:"service"`
	Command       string            `toml:"command"`
	Interval      tomlfile.Duration `toml:"interval"`
	Cron          string            `toml:"cron"`
	Timeout       tomlfile.Duration `toml:"timeout"`
	RetryInterval tomlfile.Duration `toml:"retry_interval"`
	MaxAttempts   int               `toml:"max_attempts"`
	TimeoutState  string            `toml:"timeout_state"`
	Enabled       *bool             `toml:"enabled"`
	Host          string            `toml:"host"`
	HostAddress   string            `toml:"host_address"`
	Shell         bool              `toml:"shell"`
	// Mode "watch" evaluates a built-in every WatchInterval in-process and
	// reports a change at once; "poll" (the default) runs on schedule.
	Mode          string            `toml:"mode"`
	WatchInterval tomlfile.Duration `toml:"watch_interval"`
	// Send "change" sends only what changed, and the same again after
	// Heartbeat; "always" (the default) sends every result.
	Send               string            `toml:"send"`
	Heartbeat          tomlfile.Duration `toml:"heartbeat"`
	SendOnOutputChange bool              `toml:"send_on_output_change"`
}

// Defaults is [defaults]: values every check without its own gets.
type Defaults struct {
	Interval      tomlfile.Duration `toml:"interval"`
	Timeout       tomlfile.Duration `toml:"timeout"`
	RetryInterval tomlfile.Duration `toml:"retry_interval"`
	MaxAttempts   int               `toml:"max_attempts"`
	TimeoutState  string            `toml:"timeout_state"`
}

// Built-in check defaults. The timeout and the retries are Nagios' own
// (service_check_timeout, the sample generic-service template), so results
// reach a hard state in Nagios on the schedule its admins expect.
const (
	DefaultInterval      = 5 * time.Minute
	DefaultTimeout       = 60 * time.Second
	DefaultRetryInterval = time.Minute
	DefaultMaxAttempts   = 3
	DefaultTimeoutState  = check.Critical

	// MinInterval keeps a typo ("1s" for "1m") from turning a check into
	// a fork bomb; nothing Nagios does needs more often than this.
	MinInterval = time.Second

	DefaultWatchInterval = time.Second
	// MinWatchInterval: a watch costs no fork, but a tighter loop than
	// this buys nothing a person could act on.
	MinWatchInterval = 100 * time.Millisecond
	DefaultHeartbeat = 15 * time.Minute
)

// Watchable are the built-ins a check may watch: cheap to evaluate
// in-process, and what people want to hear of at once (a process or
// service that stopped, a file that stopped changing, a log line).
var Watchable = []string{"procs", "service", "file_age", "logfile"}

// NSCA stores at most this many bytes of host and service names.
const (
	MaxHostLen    = 63
	MaxServiceLen = 127
)

// Macros is a [macros] table: name (without dollars) to value.
type Macros map[string]string

var macroName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// reservedMacros are filled per run and cannot be set in a file.
var reservedMacros = map[string]string{
	"USER1":       "is the first plugin_dirs entry",
	"HOSTNAME":    "is the check's host",
	"HOSTADDRESS": "is the check's host_address",
	"SERVICEDESC": "is the check's service",
}

func (m Macros) Check(probs *tomlfile.Problems, table string) {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !macroName.MatchString(name) {
			probs.Add(table+"."+name, "a macro name is upper-case letters, digits and _ (write USER2, not $USER2$)")
		} else if why, ok := reservedMacros[name]; ok {
			probs.Add(table+"."+name, "cannot be set: $"+name+"$ "+why)
		}
	}
}

// Resolve validates specs and turns the enabled ones into checks for
// host (with hostAddress as its $HOSTADDRESS$). Every problem goes to probs,
// placed on its line; a check with a problem is left out, the rest are
// returned, so the caller decides whether one bad check rejects the file.
func Resolve(probs *tomlfile.Problems, specs []Spec, defs Defaults, macros Macros, host, hostAddress string) []check.Check {
	defState := DefaultTimeoutState
	if defs.TimeoutState != "" {
		s, err := check.ParseState(defs.TimeoutState)
		if err != nil {
			probs.Add("defaults.timeout_state", err.Error())
		}
		defState = s
	}
	if defs.Interval.Duration != 0 && defs.Interval.Duration < MinInterval {
		probs.Add("defaults.interval", fmt.Sprintf("%v is shorter than the minimum %v", defs.Interval.Duration, MinInterval))
	}
	if defs.MaxAttempts < 0 {
		probs.Add("defaults.max_attempts", "must not be negative")
	}

	var out []check.Check
	seen := map[check.Key]int{}
	for i, s := range specs {
		f := "check[" + strconv.Itoa(i) + "]"
		bad := probs.Len()
		c := check.Check{
			Host:          cmp.Or(s.Host, host),
			Service:       s.Service,
			Command:       strings.TrimSpace(s.Command),
			Shell:         s.Shell,
			Cron:          strings.TrimSpace(s.Cron),
			Interval:      s.Interval.Duration,
			Timeout:       cmp.Or(s.Timeout.Duration, defs.Timeout.Duration, DefaultTimeout),
			RetryInterval: cmp.Or(s.RetryInterval.Duration, defs.RetryInterval.Duration, DefaultRetryInterval),
			MaxAttempts:   cmp.Or(s.MaxAttempts, defs.MaxAttempts, DefaultMaxAttempts),
			TimeoutState:  defState,
		}
		// A check for another host gets that host's name as its address
		// unless it says otherwise, as a Nagios host without an address.
		switch {
		case s.HostAddress != "":
			c.HostAddress = s.HostAddress
		case s.Host != "" && s.Host != host:
			c.HostAddress = s.Host
		default:
			c.HostAddress = cmp.Or(hostAddress, host)
		}
		CheckName(probs, f+".service", "service", c.Service, MaxServiceLen)
		if s.Host != "" {
			CheckName(probs, f+".host", "host", s.Host, MaxHostLen)
		}
		if c.Command == "" {
			probs.Add(f+".command", "missing: the plugin command line to run")
		}
		switch {
		case c.Cron != "" && c.Interval != 0:
			probs.Add(f+".cron", "set either interval or cron, not both")
		case c.Cron != "":
			if _, err := schedule.ParseCron(c.Cron); err != nil {
				probs.Add(f+".cron", err.Error())
			}
		case c.Interval != 0 && c.Interval < MinInterval:
			probs.Add(f+".interval", fmt.Sprintf("%v is shorter than the minimum %v", c.Interval, MinInterval))
		case c.Interval == 0:
			c.Interval = cmp.Or(defs.Interval.Duration, DefaultInterval)
		}
		if s.MaxAttempts < 0 {
			probs.Add(f+".max_attempts", "must not be negative")
		}
		checkWatchAndSend(probs, f, s, &c)
		if s.TimeoutState != "" {
			st, err := check.ParseState(s.TimeoutState)
			if err != nil {
				probs.Add(f+".timeout_state", err.Error())
			}
			c.TimeoutState = st
		}
		if probs.Len() > bad {
			continue
		}
		if j, dup := seen[c.Key()]; dup {
			probs.Add(f+".service", fmt.Sprintf("%q on host %s is also check[%d]: one result stream per host and service", c.Service, c.Host, j))
			continue
		}
		seen[c.Key()] = i
		if s.Enabled != nil && !*s.Enabled {
			continue
		}
		out = append(out, c)
	}
	return out
}

// checkWatchAndSend validates mode and send and fills their defaults.
func checkWatchAndSend(probs *tomlfile.Problems, f string, s Spec, c *check.Check) {
	switch s.Mode {
	case "", "poll":
		if s.WatchInterval.Duration != 0 {
			probs.Add(f+".watch_interval", "only for mode = \"watch\"")
		}
	case "watch":
		c.Watch = true
		c.WatchInterval = cmp.Or(s.WatchInterval.Duration, DefaultWatchInterval)
		name, _, _ := strings.Cut(strings.TrimPrefix(c.Command, "picket:"), " ")
		switch {
		case !strings.HasPrefix(c.Command, "picket:") || !slices.Contains(Watchable, name):
			probs.Add(f+".mode", fmt.Sprintf("a watch runs a built-in in-process: the command must be picket:%s", strings.Join(Watchable, ", picket:")))
		case c.Cron != "":
			probs.Add(f+".cron", "a watch reports an unchanged state at its interval: set interval, not cron")
		case c.Shell:
			probs.Add(f+".shell", "a watch runs a built-in in-process, not through a shell")
		case c.WatchInterval < MinWatchInterval:
			probs.Add(f+".watch_interval", fmt.Sprintf("%v is shorter than the minimum %v", c.WatchInterval, MinWatchInterval))
		}
	default:
		probs.Add(f+".mode", fmt.Sprintf("%q: want \"poll\" (the default) or \"watch\"", s.Mode))
	}
	switch s.Send {
	case "", "always":
		if s.Heartbeat.Duration != 0 || s.SendOnOutputChange {
			probs.Add(f+".send", "heartbeat and send_on_output_change need send = \"change\"")
		}
	case "change":
		c.SendOnChange, c.SendOnOutputChange = true, s.SendOnOutputChange
		c.Heartbeat = cmp.Or(s.Heartbeat.Duration, DefaultHeartbeat)
		if c.Interval > 0 && c.Heartbeat < c.Interval {
			probs.Add(f+".heartbeat", fmt.Sprintf("%v is shorter than the interval %v: every result would be sent anyway", c.Heartbeat, c.Interval))
		}
	default:
		probs.Add(f+".send", fmt.Sprintf("%q: want \"always\" (the default) or \"change\"", s.Send))
	}
}

// CheckName refuses names Nagios or NSCA would mangle: too long for the
// packet, or holding the ';' that separates external command fields.
func CheckName(probs *tomlfile.Problems, field, what, v string, max int) {
	switch {
	case v == "":
		probs.Add(field, "missing: the Nagios "+what+" name results are reported under")
	case len(v) > max:
		probs.Add(field, fmt.Sprintf("%d bytes is longer than NSCA carries (%d)", len(v), max))
	case strings.ContainsAny(v, ";\t\r\n") || strings.TrimSpace(v) != v:
		probs.Add(field, fmt.Sprintf("%q: no ';', tabs, line breaks or surrounding spaces (Nagios would split or mangle it)", v))
	}
}

// Origin is where a check was written: its file, and the line and field of
// its command, so that a problem found later (a plugin that cannot be
// started) is shown where it can be fixed, like any config problem.
type Origin struct {
	File  string
	Line  int
	Field string
}

func (o Origin) String() string {
	if o.Line == 0 {
		return o.File + ": " + o.Field
	}
	return fmt.Sprintf("%s:%d: %s", o.File, o.Line, o.Field)
}

// Origins places each check of specs, resolved for host, in file, whose
// content is data. Checks with the same key (a problem Resolve reports)
// keep the first place.
func Origins(file string, data []byte, specs []Spec, host string) map[check.Key]Origin {
	out := make(map[check.Key]Origin, len(specs))
	lines := tomlfile.IndexLines(data)
	for i, s := range specs {
		k := check.Key{Host: cmp.Or(s.Host, host), Service: s.Service}
		if _, dup := out[k]; dup {
			continue
		}
		field := "check[" + strconv.Itoa(i) + "].command"
		out[k] = Origin{File: file, Line: lines.Line(field), Field: field}
	}
	return out
}

// ResolveFile validates a check list read from another file than the
// agent's own (an externals file) and resolves it for host, as the agent's
// config does for its own [[check]] list. Every problem goes to probs, on
// its line. The file's macros are validated and attached to each of its
// checks, since they apply to that file's checks only.
func ResolveFile(probs *tomlfile.Problems, specs []Spec, defs Defaults, macros Macros, host, hostAddress string) []check.Check {
	macros.Check(probs, "macros")
	checks := Resolve(probs, specs, defs, macros, host, hostAddress)
	set := check.NewMacroSet(macros)
	for i := range checks {
		checks[i].Macros = set
	}
	return checks
}
