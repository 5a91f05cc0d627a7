package check

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// State is the outcome of a check, numbered as in the Nagios plugin API,
// where it is also the plugin's exit code and the NSCA return code.
type State int

// The four states of the Nagios plugin API.
const (
	OK       State = 0
	Warning  State = 1
	Critical State = 2
	Unknown  State = 3
)

// ErrInvalidState is wrapped by the errors of ParseState and
// State.UnmarshalText, so callers can tell a bad state from other failures.
var ErrInvalidState = errors.New("invalid check state")

// String returns the name Nagios shows for the state, for example "WARNING".
func (s State) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	case Unknown:
		return "UNKNOWN"
	}
	return "STATE(" + strconv.Itoa(int(s)) + ")"
}

func (s State) valid() bool { return s >= OK && s <= Unknown }

// ParseState reads a state as a person writes it in a config file: a name in
// any case ("ok", "warning" or "warn", "critical" or "crit", "unknown") or
// its number "0" to "3".
func ParseState(s string) (State, error) {
	switch strings.ToLower(s) {
	case "ok", "0":
		return OK, nil
	case "warning", "warn", "1":
		return Warning, nil
	case "critical", "crit", "2":
		return Critical, nil
	case "unknown", "3":
		return Unknown, nil
	}
	return 0, fmt.Errorf("%w %q: want ok, warning, critical, unknown or 0 to 3", ErrInvalidState, s)
}

// StateFromExitCode maps a plugin's exit code to its state. For codes
// outside 0..3, which the plugin API leaves undefined, it returns Unknown and
// false, so the caller can say which code it was.
func StateFromExitCode(code int) (s State, ok bool) {
	s = State(code)
	if !s.valid() {
		return Unknown, false
	}
	return s, true
}

// MarshalText writes the state in lower case, the form config files use
// (timeout_state = "critical"). A state outside 0..3 is an error rather than
// "STATE(n)", so nothing is written that UnmarshalText would refuse.
func (s State) MarshalText() ([]byte, error) {
	if !s.valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidState, int(s))
	}
	return []byte(strings.ToLower(s.String())), nil
}

// UnmarshalText accepts everything ParseState accepts.
func (s *State) UnmarshalText(text []byte) error {
	v, err := ParseState(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
