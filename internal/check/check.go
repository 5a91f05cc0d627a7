package check

import "time"

// Check is one plugin to run on a schedule, as the agent's config or its
// externals define it, with defaults already applied. It is a comparable
// value on purpose: the poller tells an unchanged check from a changed one
// with ==, so a check whose definition did not change keeps its schedule
// when a new list is applied.
type Check struct {
	// Host is the host the result is reported under: the agent's own
	// name, or another host's in multi-host mode. It is $HOSTNAME$.
	Host string
	// HostAddress is $HOSTADDRESS$.
	HostAddress string
	// Service is the Nagios service description; empty makes a host check.
	Service string
	// Command is the plugin command line, with macros not yet expanded.
	Command string
	// Shell runs Command through the platform's shell instead of
	// splitting it into an argv.
	Shell bool
	// Macros are the check's own macros, from the externals file that
	// defines it. The agent's own [macros] win over them: a host's paths
	// and secrets belong to the host's file.
	Macros MacroSet

	// Interval and Cron are mutually exclusive: exactly one is set.
	Interval time.Duration
	// Cron is a five-field cron spec, optionally prefixed by CRON_TZ=zone.
	Cron string

	// Timeout bounds one run; the whole process tree is killed after it.
	Timeout time.Duration
	// TimeoutState is the state a timed-out run reports.
	TimeoutState State

	// RetryInterval is how often the check runs while it is in a non-OK
	// soft state, up to MaxAttempts runs, as Nagios retries a service.
	// Zero or MaxAttempts <= 1 means no retries: always Interval.
	RetryInterval time.Duration
	MaxAttempts   int

	// Watch evaluates the check in-process every WatchInterval (a built-in
	// watch: procs, service, file_age, logfile): a change of state is
	// reported at once, an unchanged state at Interval.
	Watch         bool
	WatchInterval time.Duration

	// SendOnChange sends a result only when its state (and, with
	// SendOnOutputChange, its output) differs from the last one sent to a
	// target, or when Heartbeat has passed since that one.
	SendOnChange       bool
	SendOnOutputChange bool
	Heartbeat          time.Duration
}

// Key names a check uniquely within one agent: one result stream per host
// and service, as Nagios sees it.
type Key struct {
	Host, Service string
}

// Key returns the check's identity.
func (c Check) Key() Key { return Key{c.Host, c.Service} }

// String renders the key as Nagios people write it: "host/service", or the
// host alone for a host check.
func (k Key) String() string {
	if k.Service == "" {
		return k.Host
	}
	return k.Host + "/" + k.Service
}
