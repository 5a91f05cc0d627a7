package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	// Zone data inside the binary, so CRON_TZ works where the system has
	// none (Windows, minimal containers).
	_ "time/tzdata"
)

// Set by the Makefile through -ldflags.
var (
	version = "dev"
	commit  = "unknown"
)

// Exit codes follow the Nagios plugin convention where a command mirrors a
// Nagios tool (send_nsca exits 2 on connection trouble, 3 on usage errors).
const (
	exitOK       = 0
	exitCritical = 2
	exitUsage    = 3
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, io stdio) int
}

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func commands() []command {
	return []command{
		{"run", "run the agent in the foreground: checks on schedule, results to the targets", runRun},
		{"check", "run checks of the agent config now and print the results", runCheck},
		{"config", "validate the agent config and print it as the agent runs it", runConfig},
		{"externals", "validate an externals file (a host's check list) as the agent does", runExternals},
		{"spool", "show what the spool holds for each target, list or purge it", runSpool},
		{"send", "send check results over NSCA; a drop-in for send_nsca", runSend},
		{"plugin", "run a built-in check (cpu, disk, procs, ...) as a Nagios plugin; alone, list them", runPlugin},
		{"secret", "set, list or remove the agent's local secrets ($SECRET:name$)", runSecret},
		{"setup", "write the first-contact config from an installer's settings", runSetup},
		{"service", "install, start, stop or uninstall picket as a system service", runService},
		{"server", "run the central side: NSCA receiver, externals, registration, Nagios objects", runServer},
		{"doctor", "check config, plugins, targets, externals, registration and spool, with fixes", runDoctor},
		{"version", "print version, commit and Go version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr})
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, sio stdio) int {
	if len(args) == 0 {
		usage(sio.err)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		usage(sio.out)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], sio)
		}
	}
	fmt.Fprintf(sio.err, "picket: unknown command %q\n\n", args[0])
	usage(sio.err)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: picket <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'picket <command> -h' for the flags of a command.\n")
}

func runVersion(_ context.Context, _ []string, sio stdio) int {
	fmt.Fprintf(sio.out, "picket %s (commit %s, %s, %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
