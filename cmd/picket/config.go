package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/picket-monitoring/picket/internal/config"
)

const configUsage = `Usage: picket config check [--strict] [--show-macros] [FILE]

Validates the agent config (default %s) and prints it as the
agent would run it: defaults filled in, host name derived, disabled checks
left out. Problems are listed all at once, each with file, line and field.
Values that may be secrets ([macros], passwords in URLs) are masked unless
--show-macros. Each check's argv follows, word by word as the plugin will
get it (split with POSIX quoting; on Windows with CommandLineToArgvW's,
where a backslash is literal unless it precedes a double quote). A plugin
that cannot be found is a warning (it may be dropped in later) unless
--strict.

Exit codes: 0 valid; 2 invalid (or warnings with --strict); 3 usage.
`

func runConfig(ctx context.Context, args []string, sio stdio) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintf(sio.err, configUsage, config.DefaultPath())
		return exitUsage
	}
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprintf(sio.err, configUsage, config.DefaultPath()) }
	strict := fs.Bool("strict", false, "treat warnings as errors")
	showMacros := fs.Bool("show-macros", false, "print [macros] values instead of masking them")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	path := config.DefaultPath()
	switch fs.NArg() {
	case 0:
	case 1:
		path = fs.Arg(0)
	default:
		fs.Usage()
		return exitUsage
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(sio.err, "%v\n", err)
		return exitCritical
	}
	out, err := cfg.Effective(*showMacros)
	if err != nil {
		fmt.Fprintf(sio.err, "picket config check: %v\n", err)
		return exitCritical
	}
	sio.out.Write(out)

	warnings := printArgv(sio, cfg, *showMacros)
	if len(cfg.Targets) == 0 {
		fmt.Fprintf(sio.err, "%s: warning: no [[target]]: picket run keeps results in the spool until one is configured\n", cfg.File)
		warnings++
	}
	if warnings > 0 && *strict {
		return exitCritical
	}
	return exitOK
}
