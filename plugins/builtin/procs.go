package builtin

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
)

var procsBuiltin = Builtin{
	Name:    "procs",
	Summary: "number of processes by name, command line, user, state or parent, like check_procs",
	usage: `Usage: picket plugin procs [-w RANGE] [-c RANGE] [-C NAME] [-a REGEX] [-u USER] [-s STATES] [-p PPID] [-k]

Counts the processes that match every filter given, like check_procs, and
checks the count against the ranges: "-c 1:" is critical when none runs,
"-w 1:1" warns unless exactly one runs. The check's own process is never
counted (its command line holds the pattern).

-C is the exact command name (Linux comm, 15 characters at most; on
Windows the image name, ".exe" optional, any case). -a is a regular
expression searched in the whole command line (check_procs takes a plain
substring there, which is the same for patterns without special
characters). -s takes ps state letters, any of which matches (-s Z for
zombies, -s DR).

Example: picket plugin procs -C sshd -c 1:`,
	define: defineProcs,
}

type procsCheck struct {
	lim     limits
	name    string
	args    *regexp.Regexp
	user    string
	states  string
	ppid    int
	noKern  bool
	windows bool
	filters string // what the output says was counted
}

func defineProcs(f *flags) func() (Check, error) {
	c := &procsCheck{ppid: -1, windows: runtime.GOOS == "windows"}
	var args, ppid string
	f.threshold(&c.lim.warn, plainNumbers, "w", "warning", "warning range of the process count")
	f.threshold(&c.lim.crit, plainNumbers, "c", "critical", "critical range of the process count")
	f.str(&c.name, "C", "command", "NAME", "exact command name")
	f.str(&args, "a", "argument-array", "REGEX", "regular expression searched in the command line")
	f.str(&args, "", "ereg-argument-array", "REGEX", "the same as -a")
	f.str(&c.user, "u", "user", "USER", "owner's user name or uid")
	f.str(&c.states, "s", "state", "STATES", "ps state letters, any of which matches (R, S, D, Z, T, I)")
	f.str(&ppid, "p", "ppid", "PPID", "parent process id")
	f.boolean(&c.noKern, "k", "no-kthreads", "leave out kernel threads")
	return func() (Check, error) {
		var parts []string
		if c.name != "" {
			parts = append(parts, fmt.Sprintf("command name '%s'", c.name))
		}
		if args != "" {
			re, err := regexp.Compile(args)
			if err != nil {
				return nil, fmt.Errorf("-a %q: %w", args, err)
			}
			c.args = re
			parts = append(parts, fmt.Sprintf("args '%s'", args))
		}
		if c.user != "" {
			parts = append(parts, fmt.Sprintf("user '%s'", c.user))
		}
		if c.states != "" {
			parts = append(parts, fmt.Sprintf("state '%s'", c.states))
		}
		if ppid != "" {
			n, err := strconv.Atoi(ppid)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("-p %q is not a process id", ppid)
			}
			c.ppid = n
			parts = append(parts, "parent "+ppid)
		}
		if len(parts) > 0 {
			c.filters = " with " + strings.Join(parts, ", ")
		}
		return c, nil
	}
}

func (c *procsCheck) Run(ctx context.Context, sys OS) check.Result {
	ps, err := sys.Processes(ctx)
	if err != nil {
		return failed("PROCS", err)
	}
	self := sys.SelfPID()
	n := 0
	for _, p := range ps {
		if p.PID != self && c.match(p) {
			n++
		}
	}
	o := outcome{prefix: "PROCS"}
	noun := "processes"
	if n == 1 {
		noun = "process"
	}
	o.add(c.lim.state(float64(n), 0), fmt.Sprintf("%d %s%s", n, noun, c.filters))
	w, cr := c.lim.perf(0, false)
	o.perf = append(o.perf, check.Perf{Label: "procs", Value: float64(n), Warn: w, Crit: cr, Min: "0"})
	return o.result()
}

func (c *procsCheck) match(p Process) bool {
	switch {
	case c.noKern && p.Kernel:
		return false
	case c.name != "" && !c.nameMatches(p.Name):
		return false
	case c.args != nil && !c.args.MatchString(p.Args):
		return false
	case c.user != "" && !c.userMatches(p):
		return false
	case c.states != "" && (p.State == "" || !strings.ContainsAny(p.State, c.states)):
		return false
	case c.ppid >= 0 && p.PPID != c.ppid:
		return false
	}
	return true
}

func (c *procsCheck) nameMatches(name string) bool {
	if !c.windows {
		return name == c.name
	}
	trim := func(s string) string { return strings.TrimSuffix(strings.ToLower(s), ".exe") }
	return trim(name) == trim(c.name)
}

// userMatches compares by name or uid; on Windows by name in any case,
// with or without the domain.
func (c *procsCheck) userMatches(p Process) bool {
	if p.User == c.user || (p.UID >= 0 && strconv.Itoa(p.UID) == c.user) {
		return true
	}
	if !c.windows {
		return false
	}
	_, short, _ := strings.Cut(p.User, `\`)
	return strings.EqualFold(p.User, c.user) || (short != "" && strings.EqualFold(short, c.user))
}
