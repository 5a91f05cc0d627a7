package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

const doctorUsage = `Usage: picket doctor [--config FILE] [--json] [--timeout 10s]

Checks everything the agent (config %s) needs, one line per
check, with the fix for each failure:

  config     the file loads; every problem is listed, then the checks
             that do not depend on the broken parts still run
  secrets    the secrets file is readable by this user only
  plugins    every plugin folder exists and can be read, and every
             check's plugin is found
  target     each [[target]]. NSCA: connects, gets the init packet, the
             clock offset; a picket server also says whether it takes
             the password and cipher (a plain nsca never answers, so that
             cannot be told: WARN). Icinga 2: TLS, user and password,
             permission to send results, certificate expiry
  externals  [externals] url: TLS, certificate expiry, the host's file
             and its signature (fetched into a temporary folder: the
             agent's cache is left alone)
  autoreg    [autoreg]: the token file, and the endpoint answers (a GET:
             nothing is registered; the token itself is checked only when
             the agent registers)
  state_dir, spool
             exist or can be created, owned and writable by this user,
             not open to other users; room on the disk for
             spool.max_bytes; whether an agent is running

Run it as the agent's user (sudo -u picket picket doctor), so that
permissions are checked for that user.

PASS works. WARN works but deserves a look; it does not fail the run.
FAIL does not work, and says how to fix it. SKIP was not checked because
of a FAIL above. --json prints one object per line: status, check,
subject, message, fix. --timeout bounds each network check.

Exit codes: 0 every check passed (warnings allowed); 2 a check failed; 3 usage.
`

// status is a check's verdict, in rising order of trouble.
type status int

const (
	statusPass status = iota
	statusWarn
	statusSkip
	statusFail
)

func (s status) String() string {
	return [...]string{"PASS", "WARN", "SKIP", "FAIL"}[s]
}

func (s status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// finding is one line of the report.
type finding struct {
	Status  status `json:"status"`
	Check   string `json:"check"`
	Subject string `json:"subject,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

func pass(check, subject, msg string) finding {
	return finding{Status: statusPass, Check: check, Subject: subject, Message: msg}
}

func warn(check, subject, msg, fix string) finding {
	return finding{Status: statusWarn, Check: check, Subject: subject, Message: msg, Fix: fix}
}

func fail(check, subject, msg, fix string) finding {
	return finding{Status: statusFail, Check: check, Subject: subject, Message: msg, Fix: fix}
}

func (f finding) String() string {
	name := f.Check
	if f.Subject != "" {
		name += " " + f.Subject
	}
	line := fmt.Sprintf("%-4s  %s: %s", f.Status, name, f.Message)
	if f.Fix != "" {
		line += " — fix: " + f.Fix
	}
	return line
}

func runDoctor(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprintf(sio.err, doctorUsage, config.DefaultPath()) }
	cfgPath := fs.String("config", config.DefaultPath(), "agent config")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	timeout := fs.Duration("timeout", 10*time.Second, "bound of each network check")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintln(sio.err, "picket doctor: --timeout must be positive")
		return exitUsage
	}
	found := diagnose(ctx, *cfgPath, *timeout)
	report(sio.out, found, *asJSON)
	for _, f := range found {
		if f.Status == statusFail || f.Status == statusSkip {
			return exitCritical
		}
	}
	return exitOK
}

func report(w io.Writer, found []finding, asJSON bool) {
	counts := map[status]int{}
	for _, f := range found {
		counts[f.Status]++
		if asJSON {
			b, _ := json.Marshal(f)
			fmt.Fprintf(w, "%s\n", b)
		} else {
			fmt.Fprintln(w, f)
		}
	}
	if !asJSON {
		fmt.Fprintf(w, "\n%d passed, %d warned, %d failed, %d skipped\n",
			counts[statusPass], counts[statusWarn], counts[statusFail], counts[statusSkip])
	}
}

// doctor holds what every check needs: the config as far as it loaded and
// the problems found in it.
type doctor struct {
	cfg     *config.Config
	probs   []tomlfile.Problem
	timeout time.Duration
	now     time.Time
}

// diagnose runs every check. The local ones are quick; the network ones
// run side by side, so a dead target's timeout does not hold up the rest.
// The report keeps this order whatever finishes first.
func diagnose(ctx context.Context, path string, timeout time.Duration) []finding {
	cfg, err := config.LoadPartial(path)
	found := configFindings(path, cfg, err)
	if cfg == nil {
		return append(found, finding{Status: statusSkip, Check: "doctor",
			Message: "nothing else was checked: every other check needs a config that can be read and decoded"})
	}
	d := &doctor{cfg: cfg, timeout: timeout, now: time.Now()}
	var te *tomlfile.Error
	if errors.As(err, &te) {
		d.probs = te.Problems
	}
	checks := []func(context.Context) []finding{d.secrets, d.plugins}
	for i := range cfg.Targets {
		checks = append(checks, func(ctx context.Context) []finding { return d.target(ctx, i) })
	}
	checks = append(checks, d.externals, d.autoreg, d.stateDir, d.spool)
	results := make([][]finding, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = check(ctx)
		}()
	}
	wg.Wait()
	for _, r := range results {
		found = append(found, r...)
	}
	return found
}

// configFindings says whether the file loads, with one line per problem.
func configFindings(path string, cfg *config.Config, err error) []finding {
	var te *tomlfile.Error
	switch {
	case err == nil:
		msg := fmt.Sprintf("loads: host %s, %s, %s", cfg.Hostname, count(len(cfg.Checks), "check"), count(len(cfg.Targets), "target"))
		out := []finding{pass("config", path, msg)}
		if len(cfg.Targets) == 0 {
			out = append(out, warn("config", path, "no [[target]]: results stay in the spool until one is configured",
				"add a [[target]] with the address of picket server or nsca"))
		}
		return out
	case errors.As(err, &te):
		out := make([]finding, 0, len(te.Problems))
		for _, p := range te.Problems {
			loc := p.File
			if p.Line > 0 {
				loc = fmt.Sprintf("%s:%d", p.File, p.Line)
			}
			msg := p.Msg
			if p.Field != "" {
				msg = p.Field + ": " + p.Msg
			}
			out = append(out, fail("config", loc, msg, "correct the file there (the agent refuses to start with it)"))
		}
		return out
	}
	return []finding{fail("config", path, err.Error(),
		"write the agent's config there (picket setup writes a first one), or name it with --config")}
}

// broken returns a SKIP finding when a problem of the config names one of
// the fields a check depends on (a field, or a table and all within it),
// so nothing is checked with a value the agent would refuse.
func (d *doctor) broken(check, subject string, fields ...string) []finding {
	for _, p := range d.probs {
		for _, f := range fields {
			if p.Field == f || strings.HasPrefix(p.Field, f+".") || strings.HasPrefix(p.Field, f+"[") {
				return []finding{{Status: statusSkip, Check: check, Subject: subject,
					Message: "not checked: the config has a problem with " + p.Field + " (above)"}}
			}
		}
	}
	return nil
}
