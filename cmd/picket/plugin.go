package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/plugins/builtin"
)

const pluginUsage = `Usage: picket plugin [--state-dir DIR] NAME [ARGS...]
       picket plugin NAME -h

Runs a built-in check once as a Nagios plugin: prints its output line (with
perfdata after '|') and any long output, and exits 0, 1, 2 or 3 for OK,
WARNING, CRITICAL, UNKNOWN. In a check list, command = "picket:NAME ARGS"
runs it the same way. --state-dir (default $` + builtin.StateDirEnv + `) is
where checks that remember something between runs (eventlog) keep it.

Built-in checks:
`

func runPlugin(ctx context.Context, args []string, sio stdio) int {
	stateDir := os.Getenv(builtin.StateDirEnv)
	// Only picket plugin's own flag comes before NAME; everything after
	// NAME belongs to the check, so a flag parser must not see it.
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "-h" || args[0] == "--help" || args[0] == "-help":
			listBuiltins(sio, true)
			return exitOK
		case args[0] == "--state-dir" && len(args) > 1:
			stateDir, args = args[1], args[2:]
		case strings.HasPrefix(args[0], "--state-dir="):
			stateDir, args = strings.TrimPrefix(args[0], "--state-dir="), args[1:]
		default:
			fmt.Fprintf(sio.err, "picket plugin: unknown flag %s\n", args[0])
			return exitUsage
		}
	}
	if len(args) == 0 {
		listBuiltins(sio, false)
		return exitOK
	}
	b, ok := builtin.Lookup(args[0])
	if !ok {
		fmt.Fprintf(sio.out, "UNKNOWN - no built-in check %s (picket plugin lists them)\n", args[0])
		return int(check.Unknown)
	}
	c, err := b.New(args[1:])
	if errors.Is(err, builtin.ErrHelp) {
		fmt.Fprintln(sio.out, b.Help())
		return exitOK
	}
	if err != nil {
		// A plugin's usage error is UNKNOWN on stdout, where Nagios reads.
		fmt.Fprintf(sio.out, "%s UNKNOWN - %v (picket plugin %s -h)\n", strings.ToUpper(b.Name), err, b.Name)
		return int(check.Unknown)
	}
	r := c.Run(ctx, builtin.System{StateDir: stateDir})
	fmt.Fprintln(sio.out, r.PluginOutput())
	return int(r.State)
}

func listBuiltins(sio stdio, withUsage bool) {
	if withUsage {
		fmt.Fprint(sio.out, pluginHelp())
		return
	}
	fmt.Fprint(sio.out, builtinList())
}

// pluginHelp is the usage with the built-in checks this binary has.
func pluginHelp() string {
	return pluginUsage + builtinList() + "\nRun 'picket plugin NAME -h' for a check's options.\n"
}

func builtinList() string {
	var b strings.Builder
	for _, c := range builtin.All() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.Name, c.Summary)
	}
	return b.String()
}
