package nagios

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Header is the first line of every file picket writes into the objects
// folder. Sync overwrites or removes only files that start with it, so a file
// an administrator puts into the folder is never touched.
const Header = "# Written by picket server: edits are overwritten. Change the host's externals or its profile instead.\n"

// Defaults of ObjectOptions.
const (
	DefaultHostTemplate    = "generic-host"
	DefaultServiceTemplate = "generic-service"
	DefaultStaleCommand    = "picket_stale"
	DefaultCheckDummy      = "/usr/lib/nagios/plugins/check_dummy"
	DefaultStaleState      = 3 // UNKNOWN
)

// CommandsFile is the file in the objects folder that defines the stale
// command; RenderCommands renders it.
const CommandsFile = "picket-commands.cfg"

// ErrBadValue is wrapped by the errors of RenderHost, RenderCommands and Sync
// for a name, address, alias or option that cannot be written into an object
// file without changing what the file means to Nagios.
var ErrBadValue = errors.New("cannot be written safely into a Nagios object file")

// hostCheckText is what the host's check command says if Nagios ever runs
// it: only when an administrator forces a check or enables active checks.
const hostCheckText = "host is monitored through its services by the picket agent"

// HostObject is one registered host and the services its agent reports.
type HostObject struct {
	Name    string
	Address string // empty: the name, which Nagios' host_name lookups resolve
	Alias   string // empty: the name
	// Freshness, when positive, is how long Nagios waits for the agent's
	// host result before it turns the host DOWN (a dead or unreachable
	// agent: one alert instead of one per stale service). Zero: the host
	// gets no results of its own and is never made stale.
	Freshness time.Duration
	// CheckCommand, when set, makes Nagios check the host actively with
	// it (a check_command: "check-host-alive", "check_ping!100,20%!500,60%");
	// Freshness is then ignored.
	CheckCommand string
	Services     []ServiceObject
}

// ServiceObject is one passive service of a host.
type ServiceObject struct {
	Name string
	// Freshness is how long Nagios waits for a result before the service
	// turns stale; the caller derives it from the check's interval. It is
	// written in whole seconds, rounded up, and must be positive: Nagios
	// reads 0 as "guess a threshold from check_interval", which for a
	// passive service has nothing to do with the agent's schedule.
	Freshness time.Duration
}

// ObjectOptions are the site-specific parts of the rendered objects. The zero
// value means every default.
type ObjectOptions struct {
	HostTemplate    string // "use" of hosts; default DefaultHostTemplate
	ServiceTemplate string // "use" of services; default DefaultServiceTemplate
	// StaleCommand is the command_name of the freshness command, default
	// DefaultStaleCommand. Sync defines it in CommandsFile, so it must not
	// be defined anywhere else in Nagios' configuration.
	StaleCommand string
	CheckDummy   string // plugin the stale command runs; default DefaultCheckDummy
	// StaleState is the state a stale service turns, 1..3; 0 means the
	// default, 3 (UNKNOWN). A stale service cannot be made OK: a dead agent
	// must never look healthy.
	StaleState int
}

// resolve fills in the defaults and refuses options that would break the
// rendered definitions.
func (o ObjectOptions) resolve() (ObjectOptions, error) {
	if o.HostTemplate == "" {
		o.HostTemplate = DefaultHostTemplate
	}
	if o.ServiceTemplate == "" {
		o.ServiceTemplate = DefaultServiceTemplate
	}
	if o.StaleCommand == "" {
		o.StaleCommand = DefaultStaleCommand
	}
	if o.CheckDummy == "" {
		o.CheckDummy = DefaultCheckDummy
	}
	if o.StaleState == 0 {
		o.StaleState = DefaultStaleState
	}
	var errs []error
	// "use" takes a comma-separated list of templates, so commas are fine.
	if err := checkText(o.HostTemplate); err != nil {
		errs = append(errs, fmt.Errorf("host template %q: %w", o.HostTemplate, err))
	}
	if err := checkText(o.ServiceTemplate); err != nil {
		errs = append(errs, fmt.Errorf("service template %q: %w", o.ServiceTemplate, err))
	}
	if err := checkCommandName(o.StaleCommand); err != nil {
		errs = append(errs, fmt.Errorf("stale command %q: %w", o.StaleCommand, err))
	}
	if err := checkPluginPath(o.CheckDummy); err != nil {
		errs = append(errs, fmt.Errorf("check_dummy %q: %w", o.CheckDummy, err))
	}
	if o.StaleState < 1 || o.StaleState > 3 {
		errs = append(errs, fmt.Errorf("stale state %d: %w: must be 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN)", o.StaleState, ErrBadValue))
	}
	return o, errors.Join(errs...)
}

// RenderHost renders the definitions of h and its services, sorted by
// service name so that the same host renders the same bytes whatever order
// the caller lists its services in. The output starts with Header.
//
// The host is checked as HostObject says: actively with its CheckCommand;
// passively with a freshness threshold that turns it DOWN when its agent's
// host results stop; or not at all. Its services are passive-only with
// freshness checking, so a dead agent also shows as stale services, each
// saying how long no result came.
//
// Values are escaped for the object file (';' starts a comment, a trailing
// '\' continues the line). What cannot be escaped is refused with an error
// wrapping ErrBadValue: control characters, leading or trailing blanks,
// empty names, and in host and service names ';' (it would split the passive
// result command), ',' and a leading '!' or '+' (list syntax in host_name and
// in the admin's groups and dependencies), "*" and "null" (special values).
func RenderHost(h HostObject, o ObjectOptions) ([]byte, error) {
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	return renderHost(h, o)
}

// renderHost is RenderHost with resolved options.
func renderHost(h HostObject, o ObjectOptions) ([]byte, error) {
	var errs []error
	if err := checkName(h.Name); err != nil {
		errs = append(errs, fmt.Errorf("host name %q: %w", h.Name, err))
	}
	alias, address := h.Alias, h.Address
	if alias == "" {
		alias = h.Name
	} else if err := checkText(alias); err != nil {
		errs = append(errs, fmt.Errorf("host %q: alias %q: %w", h.Name, alias, err))
	}
	if address == "" {
		address = h.Name
	} else if err := checkText(address); err != nil {
		errs = append(errs, fmt.Errorf("host %q: address %q: %w", h.Name, address, err))
	}

	services := slices.Clone(h.Services)
	slices.SortFunc(services, func(a, b ServiceObject) int { return strings.Compare(a.Name, b.Name) })
	thresholds := make([]int64, len(services))
	for i, s := range services {
		if i > 0 && s.Name == services[i-1].Name {
			// Nagios refuses the whole configuration over a duplicate.
			errs = append(errs, fmt.Errorf("host %q: service %q: %w: listed twice", h.Name, s.Name, ErrBadValue))
			continue
		}
		if err := checkName(s.Name); err != nil {
			errs = append(errs, fmt.Errorf("host %q: service name %q: %w", h.Name, s.Name, err))
		}
		secs, err := thresholdSeconds(s.Freshness)
		if err != nil {
			errs = append(errs, fmt.Errorf("host %q: service %q: %w", h.Name, s.Name, err))
		}
		thresholds[i] = secs
	}
	var hostSecs int64
	switch {
	case h.CheckCommand != "":
		if err := checkText(h.CheckCommand); err != nil || strings.HasPrefix(h.CheckCommand, "!") {
			errs = append(errs, fmt.Errorf("host %q: check command %q: %w", h.Name, h.CheckCommand, ErrBadValue))
		}
	case h.Freshness != 0:
		var err error
		if hostSecs, err = thresholdSeconds(h.Freshness); err != nil {
			errs = append(errs, fmt.Errorf("host %q: %w", h.Name, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	b := make([]byte, 0, 512+400*len(services))
	b = append(b, Header...)
	b = append(b, "define host {\n"...)
	b = directive(b, "use", o.HostTemplate)
	b = directive(b, "host_name", h.Name)
	b = directive(b, "alias", alias)
	b = directive(b, "address", address)
	b = hostChecks(b, h, o, hostSecs)
	b = append(b, "}\n"...)
	for i, s := range services {
		b = append(b, "define service {\n"...)
		b = directive(b, "use", o.ServiceTemplate)
		b = directive(b, "host_name", h.Name)
		b = directive(b, "service_description", s.Name)
		b = directive(b, "active_checks_enabled", "0")
		b = directive(b, "passive_checks_enabled", "1")
		b = directive(b, "check_freshness", "1")
		b = directive(b, "freshness_threshold", strconv.FormatInt(thresholds[i], 10))
		b = directive(b, "check_command", staleCheckCommand(o, thresholds[i]))
		// One attempt: a stale or passive result is a hard state at once,
		// as passive results are with Nagios' defaults.
		b = directive(b, "max_check_attempts", "1")
		b = append(b, "}\n"...)
	}
	return b, nil
}

// hostChecks writes how the host is checked: actively with its own
// command; passively with freshness, from the agent's host results; or
// not at all, its services telling its story.
func hostChecks(b []byte, h HostObject, o ObjectOptions, secs int64) []byte {
	switch {
	case h.CheckCommand != "":
		b = directive(b, "active_checks_enabled", "1")
		b = directive(b, "passive_checks_enabled", "1")
		b = directive(b, "check_freshness", "0")
		b = directive(b, "check_command", h.CheckCommand)
		// Debian's generic-host sets none of these, and Nagios' host
		// defaults would check once and never again.
		b = directive(b, "check_interval", "5")
		b = directive(b, "retry_interval", "1")
		return directive(b, "max_check_attempts", "3")
	case secs > 0:
		b = directive(b, "active_checks_enabled", "0")
		b = directive(b, "passive_checks_enabled", "1")
		// Needs check_host_freshness=1 in nagios.cfg (Nagios' default is 0).
		b = directive(b, "check_freshness", "1")
		b = directive(b, "freshness_threshold", strconv.FormatInt(secs, 10))
		// DOWN, whatever stale_state says for services: an agent that
		// stopped reporting is a host nobody watches any more.
		b = directive(b, "check_command", o.StaleCommand+"!2!DOWN: no report from the picket agent for more than "+formatSeconds(secs))
		return directive(b, "max_check_attempts", "1")
	}
	b = directive(b, "active_checks_enabled", "0")
	b = directive(b, "passive_checks_enabled", "1")
	// A template may enable freshness for hosts; this host gets no
	// results of its own, so it must not go stale.
	b = directive(b, "check_freshness", "0")
	// Nagios 4.4 accepts a host without check_command (and then assumes UP
	// for a forced check), but the host template may well carry one, such
	// as check-host-alive pinging an address that an agent-initiated setup
	// cannot reach. Overriding it with the stale command in state 0 makes a
	// forced check, or active checks enabled by hand, say why the host has
	// no check of its own instead of turning it DOWN.
	b = directive(b, "check_command", o.StaleCommand+"!0!"+hostCheckText)
	// Required by Nagios, and missing from Debian's stock generic-host;
	// passive host results are hard anyway.
	return directive(b, "max_check_attempts", "1")
}

// RenderCommands renders the definition of the stale command, the content of
// CommandsFile. It starts with Header.
//
// The command takes the state as $ARG1$ and the text as $ARG2$, quoted so
// that the text stays one argument. The texts RenderHost passes hold no
// '!', which would split them, nor anything a shell would expand.
func RenderCommands(o ObjectOptions) ([]byte, error) {
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	return renderCommands(o), nil
}

func renderCommands(o ObjectOptions) []byte {
	b := append([]byte(Header), "define command {\n"...)
	b = directive(b, "command_name", o.StaleCommand)
	b = directive(b, "command_line", o.CheckDummy+` $ARG1$ "$ARG2$"`)
	return append(b, "}\n"...)
}

// staleCheckCommand is the check_command of a service, which Nagios runs
// only as its freshness check.
func staleCheckCommand(o ObjectOptions, secs int64) string {
	return o.StaleCommand + "!" + strconv.Itoa(o.StaleState) +
		"!STALE: no result from the picket agent for more than " + formatSeconds(secs)
}

// thresholdSeconds rounds d up to whole seconds: rounding down could make
// Nagios call a service stale before its agent was due.
func thresholdSeconds(d time.Duration) (int64, error) {
	if d <= 0 {
		return 0, fmt.Errorf("freshness threshold %v: %w: must be positive", d, ErrBadValue)
	}
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	// Nagios keeps the threshold in an int.
	if secs > math.MaxInt32 {
		return 0, fmt.Errorf("freshness threshold %v: %w: longer than Nagios can hold", d, ErrBadValue)
	}
	return secs, nil
}

// formatSeconds writes a duration the way people read it: 2m30s, 1h, 1h5m.
// time.Duration's String would say 1h0m0s.
func formatSeconds(secs int64) string {
	if secs == 0 {
		return "0s"
	}
	var b []byte
	h, m, s := secs/3600, secs/60%60, secs%60
	if h > 0 {
		b = strconv.AppendInt(b, h, 10)
		b = append(b, 'h')
	}
	if m > 0 {
		b = strconv.AppendInt(b, m, 10)
		b = append(b, 'm')
	}
	if s > 0 {
		b = strconv.AppendInt(b, s, 10)
		b = append(b, 's')
	}
	return string(b)
}

// directiveWidth aligns values the way Nagios' sample files do, so that the
// files read well to an administrator.
const directiveWidth = 24

// directive appends one "key value" line. The value must have passed one of
// the check functions: only ';' and a trailing '\' are left to escape.
func directive(b []byte, key, value string) []byte {
	b = append(b, "    "...)
	b = append(b, key...)
	for i := len(key); i < directiveWidth; i++ {
		b = append(b, ' ')
	}
	return appendValue(b, value)
}

// appendValue appends value and a newline, escaped for Nagios' object file
// reader: it treats an unescaped ';' as the start of a comment and turns
// "\;" into ';' (removing exactly one backslash, so "\\;" becomes "\;"), and
// it joins a line ending in a single '\' with the next one, while a line
// ending in "\\" loses its last backslash. Escaping each ';' with one '\'
// and doubling a trailing '\' therefore round-trips every value.
func appendValue(b []byte, value string) []byte {
	for i := 0; i < len(value); i++ {
		if value[i] == ';' {
			b = append(b, '\\')
		}
		b = append(b, value[i])
	}
	if strings.HasSuffix(value, `\`) {
		b = append(b, '\\')
	}
	return append(b, '\n')
}

// checkText refuses values that no escape keeps intact: Nagios reads lines
// (so no newline, nor other control bytes that C strings and logs mangle),
// strips blanks around values, and reads an empty value as unset.
func checkText(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrBadValue)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: control character %q", ErrBadValue, c)
		}
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return fmt.Errorf("%w: leading or trailing blank, which Nagios strips", ErrBadValue)
	}
	return nil
}

// checkName is checkText for host names and service descriptions, which
// also appear in lists (a service's host_name, an admin's groups and
// dependencies) and in external commands.
func checkName(s string) error {
	if err := checkText(s); err != nil {
		return err
	}
	switch {
	case strings.IndexByte(s, ';') >= 0:
		return fmt.Errorf("%w: ';' separates the fields of Nagios' external commands, so no result could reach it", ErrBadValue)
	case strings.IndexByte(s, ',') >= 0:
		return fmt.Errorf("%w: ',' separates names in Nagios' lists", ErrBadValue)
	case s[0] == '!' || s[0] == '+':
		return fmt.Errorf("%w: a leading %q means exclusion or inheritance in Nagios' lists", ErrBadValue, s[0])
	case s == "*" || s == "null":
		return fmt.Errorf("%w: %q is a special value to Nagios", ErrBadValue, s)
	}
	return nil
}

// checkCommandName keeps the command name a single token: it is followed by
// '!' and the arguments in check_command.
func checkCommandName(s string) error {
	if s == "null" {
		return fmt.Errorf("%w: %q is a special value to Nagios", ErrBadValue, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%w: only letters, digits, '_', '-' and '.' are allowed", ErrBadValue)
		}
	}
	return nil
}

// checkPluginPath keeps the plugin path one word of command_line that Nagios
// neither expands ($ starts a macro) nor hands to a shell that would.
func checkPluginPath(s string) error {
	if err := checkText(s); err != nil {
		return err
	}
	if i := strings.IndexAny(s, " $\"'`\\;"); i >= 0 {
		return fmt.Errorf("%w: %q has a special meaning in a command line", ErrBadValue, s[i])
	}
	return nil
}
