package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/picket-monitoring/picket/internal/agent"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/control"
)

const statusUsage = `Usage: picket status [--config FILE] [--json]

Asks the running agent what it is doing: where its config and externals come
from, each check (where it is defined, its schedule, its last run, state and
output, its next run, late and skipped runs), each target group (queued,
oldest unsent, last success and error, the server's clock offset), the
spool, and the results lost. With the agent stopped it says so and shows
what the spool holds for each target.

Exit codes: 0 the agent runs; 2 it does not (or cannot be asked); 3 usage.
`

func runStatus(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, statusUsage) }
	cfgPath := fs.String("config", config.DefaultPath(), "agent config")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if code, done := parseFlags(fs, args, statusUsage, sio); done {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	path := controlPathOf(*cfgPath)
	var st agent.Status
	err := control.NewClient(path).Do(ctx, "GET", "/v1/status", nil, &st)
	if errors.Is(err, control.ErrNotRunning) {
		fmt.Fprintf(sio.out, "picket is not running (nothing answers on %s). What the spool holds:\n", path)
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintf(sio.err, "%v\n", err)
			return exitCritical
		}
		sp, err := agent.OpenSpool(cfg, slog.New(slog.DiscardHandler), true)
		if err != nil {
			fmt.Fprintf(sio.err, "picket status: %v\n", err)
			return exitCritical
		}
		defer sp.Close()
		spoolStats(cfg, sp, *asJSON, sio)
		return exitCritical
	}
	if err != nil {
		fmt.Fprintf(sio.err, "picket status: %v\n", err)
		return exitCritical
	}
	if *asJSON {
		enc := json.NewEncoder(sio.out)
		enc.SetIndent("", "  ")
		enc.Encode(st)
		return exitOK
	}
	printStatus(sio.out, st, time.Now())
	return exitOK
}

func printStatus(w io.Writer, st agent.Status, now time.Time) {
	fmt.Fprintf(w, "picket %s on %s, running since %s (%s), config %s\n", st.Version, st.Host,
		st.Started.UTC().Format("2006-01-02 15:04:05Z"), since(now, st.Started), st.Config)
	if st.Externals != "" {
		fmt.Fprintf(w, "externals: %s\n", st.Externals)
	}
	fmt.Fprintf(w, "plugin runs contained by: %s\n\n", st.Containment)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSERVICE\tSTATE\tLAST RUN\tTOOK\tNEXT RUN\tLATE\tSKIPPED\tSCHEDULE\tSOURCE\tOUTPUT")
	for _, c := range st.Checks {
		state, last, next := "-", "never", "-"
		if c.State != "" {
			state = c.State
		}
		if !c.LastRun.IsZero() {
			last = since(now, c.LastRun) + " ago"
		}
		switch {
		case c.Running:
			next = "running"
		case !c.NextRun.IsZero():
			next = "in " + since(c.NextRun, now)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", c.Host, c.Service, state, last, cmpOr(c.Duration, "-"),
			next, c.Late, c.Skipped, c.Schedule, c.Source, clip(c.Output, 60))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGETS\tQUEUED\tOLDEST UNSENT\tSENT\tLAST SUCCESS\tCLOCK OFFSET\tLAST ERROR")
	for _, t := range st.Targets {
		oldest, success := "-", "never"
		if !t.OldestUnsent.IsZero() {
			oldest = since(now, t.OldestUnsent) + " ago"
		}
		if !t.LastSuccess.IsZero() {
			success = since(now, t.LastSuccess) + " ago"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\n", strings.Join(t.Targets, ", "), t.Queued, oldest, t.Sent, success,
			cmpOr(strings.Join(t.ClockOffset, ", "), "-"), clip(t.LastError, 80))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nspool %s: %d results held, %d of %d bytes\n", st.Spool.Dir, st.Spool.Records, st.Spool.Bytes, st.Spool.MaxBytes)
	for _, l := range st.Lost {
		fmt.Fprintf(w, "LOST %d results: %s (%s), last at %s; picket spool ack when seen\n", l.Results, l.Reason,
			cmpOr(l.Target, "every target"), l.Last.UTC().Format(time.RFC3339))
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

const runNowUsage = `Usage: picket run-now [--config FILE] SERVICE... | --all

Makes the running agent run those checks at once (watches are evaluated at
once) and send their results as usual; each then goes on with its schedule.

Exit codes: 0 done; 2 the agent does not run or knows no such check; 3 usage.
`

func runRunNow(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("run-now", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, runNowUsage) }
	cfgPath := fs.String("config", config.DefaultPath(), "agent config")
	all := fs.Bool("all", false, "every check")
	if code, done := parseFlags(fs, args, runNowUsage, sio); done {
		return code
	}
	if *all == (fs.NArg() > 0) {
		fs.Usage()
		return exitUsage
	}
	var resp agent.RunNowResponse
	if err := control.NewClient(controlPathOf(*cfgPath)).Do(ctx, "POST", "/v1/run-now", agent.RunNowRequest{Services: fs.Args(), All: *all}, &resp); err != nil {
		fmt.Fprintf(sio.err, "picket run-now: %v\n", err)
		return exitCritical
	}
	fmt.Fprintf(sio.out, "running now: %s\n", strings.Join(resp.Ran, ", "))
	return exitOK
}

// controlPathOf finds where the agent of the config at path listens, from
// state_dir and control_socket alone: asking the agent needs neither the
// rest of the config nor the secrets it names.
func controlPathOf(path string) string {
	var c struct {
		StateDir      string `toml:"state_dir"`
		ControlSocket string `toml:"control_socket"`
	}
	toml.DecodeFile(path, &c)
	return agent.ControlPath(&config.Config{StateDir: cmpOr(c.StateDir, config.DefaultStateDir()), ControlSocket: c.ControlSocket})
}
