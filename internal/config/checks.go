package config

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/poller"
)

// CheckSpec is one [[check]] as written, in the agent's file or in
// externals. Zero values mean "not set": resolveChecks fills them from
// [defaults], then from the built-in defaults.
type CheckSpec struct {
	Service       string   `toml:"service"`
	Command       string   `toml:"command"`
	Interval      Duration `toml:"interval"`
	Cron          string   `toml:"cron"`
	Timeout       Duration `toml:"timeout"`
	RetryInterval Duration `toml:"retry_interval"`
	MaxAttempts   int      `toml:"max_attempts"`
	TimeoutState  string   `toml:"timeout_state"`
	Enabled       *bool    `toml:"enabled"`
	Host          string   `toml:"host"`
	HostAddress   string   `toml:"host_address"`
	Shell         bool     `toml:"shell"`
}

// CheckDefaults is [defaults]: values every check without its own gets.
type CheckDefaults struct {
	Interval      Duration `toml:"interval"`
	Timeout       Duration `toml:"timeout"`
	RetryInterval Duration `toml:"retry_interval"`
	MaxAttempts   int      `toml:"max_attempts"`
	TimeoutState  string   `toml:"timeout_state"`
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
)

// NSCA stores at most this many bytes of host and service names.
const (
	maxHostLen    = 63
	maxServiceLen = 127
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

func (m Macros) check(probs *problems, table string) {
	for _, name := range sortedKeys(m) {
		if !macroName.MatchString(name) {
			probs.add(table+"."+name, "a macro name is upper-case letters, digits and _ (write USER2, not $USER2$)")
		} else if why, ok := reservedMacros[name]; ok {
			probs.add(table+"."+name, "cannot be set: $"+name+"$ "+why)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolveChecks validates specs and turns the enabled ones into checks for
// host (with hostAddress as its $HOSTADDRESS$). Every problem goes to probs,
// placed on its line; a check with a problem is left out, the rest are
// returned, so the caller decides whether one bad check rejects the file.
func resolveChecks(probs *problems, specs []CheckSpec, defs CheckDefaults, macros Macros, host, hostAddress string) []check.Check {
	defState := DefaultTimeoutState
	if defs.TimeoutState != "" {
		s, err := check.ParseState(defs.TimeoutState)
		if err != nil {
			probs.add("defaults.timeout_state", err.Error())
		}
		defState = s
	}
	if defs.Interval.Duration != 0 && defs.Interval.Duration < MinInterval {
		probs.add("defaults.interval", fmt.Sprintf("%v is shorter than the minimum %v", defs.Interval.Duration, MinInterval))
	}
	if defs.MaxAttempts < 0 {
		probs.add("defaults.max_attempts", "must not be negative")
	}

	var out []check.Check
	seen := map[check.Key]int{}
	for i, s := range specs {
		f := "check[" + strconv.Itoa(i) + "]"
		bad := len(probs.list)
		c := check.Check{
			Host:          firstNonEmpty(s.Host, host),
			Service:       s.Service,
			Command:       strings.TrimSpace(s.Command),
			Shell:         s.Shell,
			Cron:          strings.TrimSpace(s.Cron),
			Interval:      s.Interval.Duration,
			Timeout:       pick(s.Timeout.Duration, defs.Timeout.Duration, DefaultTimeout),
			RetryInterval: pick(s.RetryInterval.Duration, defs.RetryInterval.Duration, DefaultRetryInterval),
			MaxAttempts:   pick(s.MaxAttempts, defs.MaxAttempts, DefaultMaxAttempts),
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
			c.HostAddress = firstNonEmpty(hostAddress, host)
		}
		checkName(probs, f+".service", "service", c.Service, maxServiceLen)
		if s.Host != "" {
			checkName(probs, f+".host", "host", s.Host, maxHostLen)
		}
		if c.Command == "" {
			probs.add(f+".command", "missing: the plugin command line to run")
		}
		switch {
		case c.Cron != "" && c.Interval != 0:
			probs.add(f+".cron", "set either interval or cron, not both")
		case c.Cron != "":
			if _, err := poller.ParseCron(c.Cron); err != nil {
				probs.add(f+".cron", err.Error())
			}
		case c.Interval != 0 && c.Interval < MinInterval:
			probs.add(f+".interval", fmt.Sprintf("%v is shorter than the minimum %v", c.Interval, MinInterval))
		case c.Interval == 0:
			c.Interval = pick(defs.Interval.Duration, DefaultInterval)
		}
		if s.MaxAttempts < 0 {
			probs.add(f+".max_attempts", "must not be negative")
		}
		if s.TimeoutState != "" {
			st, err := check.ParseState(s.TimeoutState)
			if err != nil {
				probs.add(f+".timeout_state", err.Error())
			}
			c.TimeoutState = st
		}
		if len(probs.list) > bad {
			continue
		}
		if j, dup := seen[c.Key()]; dup {
			probs.add(f+".service", fmt.Sprintf("%q on host %s is also check[%d]: one result stream per host and service", c.Service, c.Host, j))
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

// checkName refuses names Nagios or NSCA would mangle: too long for the
// packet, or holding the ';' that separates external command fields.
func checkName(probs *problems, field, what, v string, max int) {
	switch {
	case v == "":
		probs.add(field, "missing: the Nagios "+what+" name results are reported under")
	case len(v) > max:
		probs.add(field, fmt.Sprintf("%d bytes is longer than NSCA carries (%d)", len(v), max))
	case strings.ContainsAny(v, ";\t\r\n") || strings.TrimSpace(v) != v:
		probs.add(field, fmt.Sprintf("%q: no ';', tabs, line breaks or surrounding spaces (Nagios would split or mangle it)", v))
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// pick returns the first non-zero value.
func pick[T comparable](vs ...T) T {
	var zero T
	for _, v := range vs {
		if v != zero {
			return v
		}
	}
	return zero
}

// ResolveChecks validates a check list read from another file than the
// agent's own (an externals file) and resolves it for host, as Parse does
// for the agent's own [[check]] list. data is the file's content, so every
// problem is placed on its line; the error is an *Error listing them all.
// The file's macros are validated and attached to each of its checks.
func ResolveChecks(file string, data []byte, specs []CheckSpec, defs CheckDefaults, macros Macros, host, hostAddress string) ([]check.Check, error) {
	probs := &problems{file: file, data: data}
	macros.check(probs, "macros")
	checks := resolveChecks(probs, specs, defs, macros, host, hostAddress)
	if err := probs.err(); err != nil {
		return nil, err
	}
	set := check.NewMacroSet(macros)
	for i := range checks {
		checks[i].Macros = set
	}
	return checks, nil
}
