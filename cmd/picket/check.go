package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/picket-monitoring/picket/internal/agent"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/poller"
)

const checkUsage = `Usage: picket check [--config FILE] [--json] [-v] [SERVICE... | --all]

Runs checks now, as the agent would, and prints each result: service,
state, duration and output. The checks are the agent's own and those of its
last-known-good externals (from state_dir; nothing is fetched), so this
works on an agent whose checks come from the server, running or not. With
no SERVICE, runs them all.
-v adds the command line, long output and perfdata; --json prints one JSON
object per result and line instead.

Exit code: the worst state, as a plugin's (CRITICAL 2 > WARNING 1 >
UNKNOWN 3 > OK 0); 3 also for usage and config errors.
`

func runCheck(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, checkUsage); fs.PrintDefaults() }
	cfgPath := fs.String("config", config.DefaultPath(), "agent config")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	all := fs.Bool("all", false, "run every check (the default when no SERVICE is named)")
	verbose := fs.Bool("v", false, "show command line, long output and perfdata")
	if code, done := parseFlags(fs, args, checkUsage, sio); done {
		return code
	}
	cfg, err := agent.LoadConfig(*cfgPath, nil)
	if err != nil {
		fmt.Fprintf(sio.err, "%v\n", err)
		return exitUsage
	}
	allChecks, _, err := agent.Checks(cfg, nil)
	if err != nil {
		fmt.Fprintf(sio.err, "picket check: externals: %v (running the local checks only)\n", err)
	}
	checks := allChecks
	if names := fs.Args(); len(names) > 0 {
		if *all {
			fmt.Fprintln(sio.err, "picket check: name services or use --all, not both")
			return exitUsage
		}
		checks, err = selectChecks(allChecks, names)
		if err != nil {
			fmt.Fprintf(sio.err, "picket check: %v\n", err)
			return exitUsage
		}
	}
	if len(checks) == 0 {
		fmt.Fprintf(sio.err, "picket check: %s has no enabled checks, and no externals were received yet\n", cfg.File)
		return exitUsage
	}

	runner := agent.NewRunner(cfg)
	results := make([]check.Result, len(checks))
	limit := cfg.Concurrency
	if limit <= 0 {
		limit = poller.DefaultConcurrency()
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = runner.Run(ctx, c)
		}()
	}
	wg.Wait()

	if *asJSON {
		writeJSONResults(sio.out, results)
	} else {
		writeTextResults(sio.out, checks, results, runner, *verbose)
	}
	return worstExit(results)
}

// selectChecks picks checks by service name, keeping config order. A name
// matching nothing is an error listing what exists.
func selectChecks(all []check.Check, names []string) ([]check.Check, error) {
	var out []check.Check
	for _, n := range names {
		found := false
		for _, c := range all {
			if c.Service == n {
				found = true
			}
		}
		if !found {
			var have []string
			for _, c := range all {
				have = append(have, c.Service)
			}
			return nil, fmt.Errorf("no enabled check named %q (have: %s)", n, strings.Join(have, ", "))
		}
	}
	for _, c := range all {
		if slices.Contains(names, c.Service) {
			out = append(out, c)
		}
	}
	return out, nil
}

// severity orders states as monitoring plugins do when they combine
// results: CRITICAL over WARNING over UNKNOWN over OK.
func severity(s check.State) int {
	return map[check.State]int{check.OK: 0, check.Unknown: 1, check.Warning: 2, check.Critical: 3}[s]
}

func worstExit(results []check.Result) int {
	worst := check.OK
	for _, r := range results {
		if severity(r.State) > severity(worst) {
			worst = r.State
		}
	}
	return int(worst)
}

type resultJSON struct {
	Host       string    `json:"host"`
	Service    string    `json:"service"`
	State      string    `json:"state"`
	ExitCode   *int      `json:"exit_code"` // null: the plugin did not exit (timeout, signal, not started)
	Output     string    `json:"output"`
	LongOutput string    `json:"long_output,omitempty"`
	Perfdata   string    `json:"perfdata"`
	DurationMS float64   `json:"duration_ms"`
	CheckTime  time.Time `json:"check_time"`
}

func writeJSONResults(w io.Writer, results []check.Result) {
	enc := json.NewEncoder(w)
	for _, r := range results {
		j := resultJSON{
			Host:       r.Host,
			Service:    r.Service,
			State:      r.State.String(),
			Output:     r.Output,
			LongOutput: r.LongOutput,
			Perfdata:   perfString(r.Perfdata),
			DurationMS: float64(r.Duration.Microseconds()) / 1000,
			CheckTime:  r.CheckTime.UTC(),
		}
		if r.ExitCode >= 0 {
			code := r.ExitCode
			j.ExitCode = &code
		}
		enc.Encode(j)
	}
}

func perfString(ps []check.Perf) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, " ")
}

// commander is the part of the plugin runner -v needs.
type commander interface {
	Command(c check.Check) ([]string, error)
}

func writeTextResults(w io.Writer, checks []check.Check, results []check.Result, runner commander, verbose bool) {
	multiHost := false
	for _, c := range checks {
		multiHost = multiHost || c.Host != checks[0].Host
	}
	// The table is laid out whole first, so -v can put each result's
	// details under its row without breaking the columns.
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATE\tDURATION\tOUTPUT")
	for i, r := range results {
		name := r.Service
		if multiHost {
			name = checks[i].Key().String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, r.State, r.Duration.Round(time.Millisecond), r.Output)
	}
	tw.Flush()
	rows := strings.SplitAfter(table.String(), "\n")
	io.WriteString(w, rows[0])
	for i, r := range results {
		io.WriteString(w, rows[i+1])
		if !verbose {
			continue
		}
		if argv, err := runner.Command(checks[i]); err == nil {
			fmt.Fprintf(w, "    command:  %s\n", strings.Join(argv, " "))
		}
		if len(r.Perfdata) > 0 {
			fmt.Fprintf(w, "    perfdata: %s\n", perfString(r.Perfdata))
		}
		for _, l := range strings.Split(r.LongOutput, "\n") {
			if l != "" {
				fmt.Fprintf(w, "    | %s\n", l)
			}
		}
	}
}
