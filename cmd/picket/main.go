package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	// Zone data inside the binary, so CRON_TZ works where the system has
	// none (Windows, minimal containers).
	_ "time/tzdata"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/secrets"
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
	// usage is what -h prints.
	usage func() string
}

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func commands() []command {
	return []command{
		{"run", "run the agent in the foreground: checks on schedule, results to the targets", runRun, text(runUsage)},
		{"check", "run checks of the agent config now and print the results", runCheck, text(checkUsage)},
		{"status", "ask the running agent what it does: checks, targets, spool, losses", runStatus, text(statusUsage)},
		{"run-now", "make the running agent run checks at once", runRunNow, text(runNowUsage)},
		{"config", "validate the agent config and print it as the agent runs it", runConfig,
			func() string { return fmt.Sprintf(configUsage, config.DefaultPath()) }},
		{"externals", "validate an externals file (a host's check list) as the agent does", runExternals, text(externalsUsage)},
		{"spool", "show what the spool holds for each target, list or purge it", runSpool,
			func() string { return fmt.Sprintf(spoolUsage, config.DefaultPath()) }},
		{"send", "send check results over NSCA; a drop-in for send_nsca", runSend, text(sendUsage)},
		{"plugin", "run a built-in check (cpu, disk, procs, ...) as a Nagios plugin; alone, list them", runPlugin, pluginHelp},
		{"secret", "set, list or remove the agent's local secrets ($SECRET:name$)", runSecret,
			func() string { return fmt.Sprintf(secretUsage, config.DefaultSecretsFile(), secrets.MinLength) }},
		{"setup", "write the first-contact config from an installer's settings", runSetup, text(setupUsage)},
		{"service", "install, start, stop or uninstall picket as a system service", runService, text(serviceUsage)},
		{"server", "run the central side: NSCA receiver, externals, registration, Nagios objects", runServer, text(serverUsage)},
		{"doctor", "check config, plugins, targets, externals, registration and spool, with fixes", runDoctor,
			func() string { return fmt.Sprintf(doctorUsage, config.DefaultPath()) }},
		{"version", "print version, commit and Go version", runVersion, text("Usage: picket version\n\nPrints picket's version, commit, Go version and platform.\n")},
	}
}

func text(s string) func() string { return func() string { return s } }

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
	case "--version", "-version", "-v":
		return runVersion(ctx, nil, sio)
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		// -h right after a command is that command's usage, on standard
		// output, as asked for; deeper ones are the command's own.
		if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "-help") {
			fmt.Fprint(sio.out, c.usage())
			return exitOK
		}
		return c.run(ctx, args[1:], sio)
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

// parseFlags parses args into fs, flags anywhere among the arguments (the
// rest stay in fs.Args()). -h or --help prints usage to standard output:
// done with exit 0, as asked. A bad flag is done with exitUsage, fs having
// said why on standard error.
func parseFlags(fs *flag.FlagSet, args []string, usage string, sio stdio) (code int, done bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(sio.out, usage)
			return exitOK, true
		}
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage, true
	}
	if err := fs.Parse(append([]string{"--"}, pos...)); err != nil {
		return exitUsage, true
	}
	return 0, false
}
