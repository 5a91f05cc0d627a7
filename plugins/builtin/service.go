package builtin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
)

var serviceBuiltin = Builtin{
	Name:    "service",
	Summary: "state of services: systemd units on Linux, the SCM on Windows",
	usage: `Usage: picket plugin service [-s STATE] [-t START_TYPE] NAME...

Checks that each named service is in the expected state (default running):
a systemd unit on Linux (sshd or sshd.service), a service of the Service
Control Manager on Windows (its service name, not the display name). A
service starting or stopping is WARNING, any other state CRITICAL, one that
does not exist CRITICAL. With -t the start type must match too, or the
check warns: Windows auto, delayed-auto, manual, disabled; systemd enabled,
disabled, static, masked, ...

Where there is no service manager to ask (Linux without systemd running,
macOS) the check is UNKNOWN and says so.

Example: picket plugin service sshd cron
         picket plugin service -t auto Spooler`,
	define: defineService,
}

var serviceStates = []string{ServiceRunning, ServiceStopped, ServiceStarting, ServiceStopping, ServicePaused, ServiceFailed}

type serviceCheck struct {
	names     []string
	want      string
	startType string
}

func defineService(f *flags) func() (Check, error) {
	c := &serviceCheck{want: ServiceRunning}
	f.str(&c.want, "s", "state", "STATE", "expected state: "+strings.Join(serviceStates, ", ")+" (default running)")
	f.str(&c.startType, "t", "start-type", "TYPE", "expected start type (Windows auto, manual, ...; systemd enabled, ...)")
	f.list(&c.names, "n", "name", "NAME", "a service to check (names may also follow the options)")
	return func() (Check, error) {
		c.names = append(c.names, f.args...)
		if len(c.names) == 0 {
			return nil, errors.New("name at least one service")
		}
		c.want = strings.ToLower(c.want)
		if !slices.Contains(serviceStates, c.want) {
			return nil, fmt.Errorf("unknown state %q: want one of %s", c.want, strings.Join(serviceStates, ", "))
		}
		return c, nil
	}
}

func (c *serviceCheck) Run(ctx context.Context, sys OS) check.Result {
	o := outcome{prefix: "SERVICE"}
	for _, name := range c.names {
		s, err := sys.Service(ctx, name)
		switch {
		case errors.Is(err, ErrNoServiceManager):
			// Nothing else can be known; one line says why.
			return failed("SERVICE", err)
		case errors.Is(err, ErrNoService):
			o.add(check.Critical, name+" does not exist")
			continue
		case err != nil:
			o.add(check.Unknown, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		st := check.OK
		switch {
		case s.State == c.want:
		case s.State == ServiceStarting || s.State == ServiceStopping:
			st = check.Warning
		default:
			st = check.Critical
		}
		text := name + " " + s.State
		if s.Detail != "" && s.Detail != s.State {
			text += " (" + s.Detail + ")"
		}
		if c.startType != "" && !strings.EqualFold(s.StartType, c.startType) {
			text += fmt.Sprintf(", start type %s, want %s", orNone(s.StartType), c.startType)
			if st == check.OK {
				st = check.Warning
			}
		} else if s.StartType != "" {
			text += ", start type " + s.StartType
		}
		if s.State != c.want {
			text += fmt.Sprintf(" (want %s)", c.want)
		}
		o.add(st, text)
	}
	return o.result()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
