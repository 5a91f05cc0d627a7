package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/picket-monitoring/picket/internal/agent"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

const spoolUsage = `Usage: picket spool stats [--config FILE] [--json]
       picket spool list  [--config FILE] [--target T] [--limit N] [--json]
       picket spool purge [--config FILE] --target T [--yes]
       picket spool ack   [--config FILE]

Looks into the agent's spool (spool_dir of the config, default %s):
what each target still has to receive, and since when.

  stats   results held, bytes, and per target: queued, oldest unsent, dropped
  list    the results a target has not received yet, oldest first (without
          --target: every result the spool holds)
  purge   give up a target's unsent results; asks first unless --yes. The
          agent must be stopped: it holds the spool while it runs. A target
          no longer configured is forgotten with its cursor.
  ack     say that you have seen the results lost so far: picket_spooler
          stops reporting them CRITICAL (otherwise it does for
          [health] loss_alert, 24h by default). Works while the agent runs.

T is a target's address or its group name, or for a target no longer
configured, what it was.

Exit codes: 0 done; 2 failed (or purge declined); 3 usage.
`

func runSpool(ctx context.Context, args []string, sio stdio) int {
	usage := func() { fmt.Fprintf(sio.err, spoolUsage, config.DefaultPath()) }
	if len(args) == 0 {
		usage()
		return exitUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("spool "+sub, flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = usage
	cfgPath := fs.String("config", config.DefaultPath(), "agent config")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	target := fs.String("target", "", "a target's address or group name")
	limit := fs.Int("limit", 20, "list at most this many results (0: all)")
	yes := fs.Bool("yes", false, "purge without asking")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	switch sub {
	case "stats", "list", "purge", "ack":
	default:
		fmt.Fprintf(sio.err, "picket spool: unknown subcommand %q\n\n", sub)
		usage()
		return exitUsage
	}
	if sub == "purge" && *target == "" {
		fmt.Fprintln(sio.err, "picket spool purge: --target is required")
		return exitUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(sio.err, "%v\n", err)
		return exitCritical
	}
	if sub == "ack" {
		return spoolAck(cfg, sio)
	}
	var cursor string
	orphan := false
	if *target != "" {
		if cursor, err = findCursor(cfg, *target); err != nil && sub == "purge" {
			cursor, err = orphanCursor(cfg, *target)
			orphan = err == nil
		}
		if err != nil {
			fmt.Fprintf(sio.err, "picket spool %s: %v\n", sub, err)
			return exitUsage
		}
	}
	logger := slog.New(slog.NewTextHandler(sio.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sp, err := agent.OpenSpool(cfg, logger, sub != "purge")
	if err != nil {
		if errors.Is(err, spool.ErrLocked) {
			err = fmt.Errorf("%w; stop the agent first", err)
		}
		fmt.Fprintf(sio.err, "picket spool %s: %v\n", sub, err)
		return exitCritical
	}
	defer sp.Close()
	switch sub {
	case "stats":
		return spoolStats(cfg, sp, *asJSON, sio)
	case "list":
		return spoolList(ctx, sp, cursor, *limit, *asJSON, sio)
	}
	return spoolPurge(sp, cursor, *target, orphan, *yes, sio)
}

// findCursor maps a target's address or group name to its spool cursor.
func findCursor(cfg *config.Config, t string) (string, error) {
	var known []string
	for _, tg := range cfg.Targets {
		if tg.Address == t || (tg.Group != "" && tg.Group == t) {
			return tg.Cursor(), nil
		}
		known = append(known, tg.Address)
	}
	return "", fmt.Errorf("no target %q in %s (targets: %s)", t, cfg.File, strings.Join(known, ", "))
}

// orphanCursor is the cursor a target no longer in the config had, as
// the agent keeps it until retention passes it.
func orphanCursor(cfg *config.Config, t string) (string, error) {
	for _, c := range []string{(&config.Target{Address: t}).Cursor(), (&config.Target{Group: t}).Cursor()} {
		sp, err := agent.OpenSpool(cfg, slog.New(slog.DiscardHandler), true)
		if err != nil {
			return "", err
		}
		_, ok := sp.Stats().Cursors[c]
		sp.Close()
		if ok {
			return c, nil
		}
	}
	_, err := findCursor(cfg, t)
	return "", err
}

// spoolAck acknowledges the losses on record and says which they were.
func spoolAck(cfg *config.Config, sio stdio) int {
	events, acked, err := agent.LoadLosses(cfg.StateDir)
	if err != nil {
		fmt.Fprintf(sio.err, "picket spool ack: %v\n", err)
		return exitCritical
	}
	now := time.Now()
	var n uint64
	for _, e := range events {
		if !e.Last.After(acked) {
			continue
		}
		n += e.Results
		fmt.Fprintf(sio.out, "%s  %d %s", e.Last.UTC().Format(time.RFC3339), e.Results, e.Reason)
		if e.Target != "" {
			fmt.Fprintf(sio.out, " (%s)", e.Target)
		}
		fmt.Fprintln(sio.out)
	}
	if err := agent.Acknowledge(cfg.StateDir, now); err != nil {
		fmt.Fprintf(sio.err, "picket spool ack: %v\n", err)
		return exitCritical
	}
	fmt.Fprintf(sio.out, "acknowledged %d lost results; picket_spooler stops reporting them at its next report\n", n)
	return exitOK
}

// cursorTargets names each cursor by the targets that read through it;
// cursors the spool keeps for targets no longer configured come last.
func cursorTargets(cfg *config.Config, st spool.Stats) (order []string, names map[string]string) {
	names = map[string]string{}
	for _, t := range cfg.Targets {
		c := t.Cursor()
		if _, ok := names[c]; !ok {
			order = append(order, c)
			names[c] = t.Address
		} else {
			names[c] += ", " + t.Address
		}
	}
	for _, c := range slices.Sorted(maps.Keys(st.Cursors)) {
		if _, ok := names[c]; !ok {
			order = append(order, c)
			names[c] = "(no longer configured)"
		}
	}
	return order, names
}

type spoolTargetJSON struct {
	Targets       string  `json:"targets"`
	Cursor        string  `json:"cursor"`
	Queued        uint64  `json:"queued"`
	OldestUnsent  *string `json:"oldest_unsent"`
	DroppedAge    uint64  `json:"dropped_age"`
	DroppedBytes  uint64  `json:"dropped_bytes"`
	DroppedCorrup uint64  `json:"dropped_corrupt"`
}

func spoolStats(cfg *config.Config, sp *spool.Spool, asJSON bool, sio stdio) int {
	st := sp.Stats()
	order, names := cursorTargets(cfg, st)
	now := time.Now()
	if asJSON {
		enc := json.NewEncoder(sio.out)
		enc.Encode(map[string]any{"spool_dir": cfg.SpoolDir, "results": st.Records, "bytes": st.Bytes,
			"max_bytes": int64(cfg.Spool.MaxBytes), "first_seq": st.FirstSeq, "last_seq": st.LastSeq})
		for _, c := range order {
			cs := st.Cursors[c]
			j := spoolTargetJSON{Targets: names[c], Cursor: c, Queued: pendingFor(st, c),
				DroppedAge: cs.Dropped.Age, DroppedBytes: cs.Dropped.Bytes, DroppedCorrup: cs.Dropped.Corrupt}
			if o := oldestFor(st, c); !o.IsZero() {
				s := o.UTC().Format(time.RFC3339)
				j.OldestUnsent = &s
			}
			enc.Encode(j)
		}
		return exitOK
	}
	maxBytes, _ := cfg.Spool.MaxBytes.MarshalText()
	// Records includes results every target has received whose segment
	// is not collected yet, so the per-target QUEUED is what matters.
	fmt.Fprintf(sio.out, "spool %s: %d results held, %d bytes of %s", cfg.SpoolDir, st.Records, st.Bytes, maxBytes)
	if !st.Oldest.IsZero() {
		fmt.Fprintf(sio.out, ", oldest from %s ago", since(now, st.Oldest))
	}
	fmt.Fprintln(sio.out)
	tw := tabwriter.NewWriter(sio.out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGETS\tCURSOR\tQUEUED\tOLDEST UNSENT\tDROPPED (age/bytes/corrupt)")
	for _, c := range order {
		cs := st.Cursors[c]
		oldest := "-"
		if o := oldestFor(st, c); !o.IsZero() {
			oldest = since(now, o) + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d/%d/%d\n", names[c], c, pendingFor(st, c), oldest,
			cs.Dropped.Age, cs.Dropped.Bytes, cs.Dropped.Corrupt)
	}
	tw.Flush()
	return exitOK
}

// A group that has never sent has no cursor yet: it will start at the
// oldest result the spool holds, so everything is queued for it.
func pendingFor(st spool.Stats, c string) uint64 {
	if cs, ok := st.Cursors[c]; ok {
		return cs.Pending
	}
	return st.Records
}

func oldestFor(st spool.Stats, c string) time.Time {
	if cs, ok := st.Cursors[c]; ok {
		return cs.Oldest
	}
	return st.Oldest
}

func since(now, t time.Time) string {
	b, _ := tomlfile.Duration{Duration: now.Sub(t).Round(time.Second)}.MarshalText()
	return string(b)
}

type spoolRecordJSON struct {
	Seq       uint64 `json:"seq"`
	Spooled   string `json:"spooled"`
	Host      string `json:"host"`
	Service   string `json:"service"`
	State     string `json:"state"`
	Output    string `json:"output"`
	CheckTime string `json:"check_time"`
	Error     string `json:"error,omitempty"`
}

func spoolList(ctx context.Context, sp *spool.Spool, cursor string, limit int, asJSON bool, sio stdio) int {
	after := uint64(0)
	if cursor != "" {
		after = sp.Position(cursor)
	}
	tw := tabwriter.NewWriter(sio.out, 2, 8, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "SEQ\tSPOOLED\tHOST\tSERVICE\tSTATE\tOUTPUT")
	}
	enc := json.NewEncoder(sio.out)
	shown := 0
	for limit == 0 || shown < limit {
		batch := 512
		if limit > 0 {
			batch = min(batch, limit-shown)
		}
		recs, err := sp.Read(ctx, after, batch)
		if err != nil {
			tw.Flush()
			fmt.Fprintf(sio.err, "picket spool list: %v\n", err)
			return exitCritical
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			after = rec.Seq
			shown++
			j := spoolRecordJSON{Seq: rec.Seq, Spooled: rec.Time.UTC().Format(time.RFC3339)}
			var r check.Result
			if err := r.UnmarshalBinary(rec.Data); err != nil {
				j.Error = err.Error()
			} else {
				j.Host, j.Service, j.State, j.Output = r.Host, r.Service, r.State.String(), r.Output
				j.CheckTime = r.CheckTime.UTC().Format(time.RFC3339)
			}
			if asJSON {
				enc.Encode(j)
				continue
			}
			out := j.Output
			if j.Error != "" {
				out = "(unreadable: " + j.Error + ")"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", j.Seq, j.Spooled, j.Host, j.Service, j.State, out)
		}
	}
	tw.Flush()
	return exitOK
}

func spoolPurge(sp *spool.Spool, cursor, target string, orphan, yes bool, sio stdio) int {
	n := pendingFor(sp.Stats(), cursor)
	if n > 0 && !yes {
		fmt.Fprintf(sio.out, "Give up %d unsent results for %s? They cannot be recovered. [y/N] ", n, target)
		answer, _ := bufio.NewReader(sio.in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(sio.out, "not purged")
			return exitCritical
		}
	}
	if n == 0 {
		fmt.Fprintf(sio.out, "nothing queued for %s\n", target)
	} else {
		skipped, err := sp.Purge(cursor)
		if err != nil {
			fmt.Fprintf(sio.err, "picket spool purge: %v\n", err)
			return exitCritical
		}
		fmt.Fprintf(sio.out, "purged %d results for %s\n", skipped, target)
	}
	if orphan {
		// A target no longer configured keeps its cursor only so that it
		// can resume; purged, it has nothing to resume.
		if err := sp.RemoveCursor(cursor); err != nil {
			fmt.Fprintf(sio.err, "picket spool purge: %v\n", err)
			return exitCritical
		}
		fmt.Fprintf(sio.out, "forgot %s, which is no longer configured\n", target)
	}
	return exitOK
}
