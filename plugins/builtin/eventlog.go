package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
)

var eventlogBuiltin = Builtin{
	Name:    "eventlog",
	Summary: "new Windows event log events by log, source, level and id since the last run",
	usage: `Usage: picket plugin eventlog [-l LOG] [-s SOURCE]... [-L LEVELS] [-i IDS] [-m REGEX] [-w RANGE] [-c RANGE]

Counts the events written to a Windows event log since the last run that
match every filter given, and checks the count: by default any match warns
(-w 0). Levels are error, warning, information, audit_success and
audit_failure (default error,warning); ids are the numbers Event Viewer
shows. -m searches the event's text (its insertion strings).

The read position is kept between runs in a file under the state folder,
PICKET_STATE_DIR or --state-dir of picket plugin (the agent sets it), one
per distinct log and filter set, or per --name. The first run only records
where the log ends and is OK. Only Windows has an event log: elsewhere the
check is UNKNOWN.

Example: picket plugin eventlog -l System -L error -c 0`,
	define: defineEventlog,
}

var eventLevels = []string{"error", "warning", "information", "audit_success", "audit_failure"}

type eventlogCheck struct {
	log     string
	sources []string
	levels  []string
	ids     []uint32
	match   *regexp.Regexp
	lim     limits
	name    string
	max     int
}

func defineEventlog(f *flags) func() (Check, error) {
	c := &eventlogCheck{log: "Application", max: 1000}
	var levels, ids, match []string
	f.str(&c.log, "l", "log", "LOG", "event log to read (default Application)")
	f.list(&c.sources, "s", "source", "SOURCE", "event source (repeatable, any matches, any case)")
	f.list(&levels, "L", "level", "LEVELS", "levels, comma-separated (default error,warning)")
	f.list(&ids, "i", "id", "IDS", "event ids, comma-separated (repeatable)")
	f.list(&match, "m", "match", "REGEX", "regular expression searched in the event text")
	f.threshold(&c.lim.warn, plainNumbers, "w", "warning", "warning range of the count of new events (default 0)")
	f.threshold(&c.lim.crit, plainNumbers, "c", "critical", "critical range of the count of new events")
	f.str(&c.name, "", "name", "NAME", "name of the saved read position (default: from log and filters)")
	return func() (Check, error) {
		if err := c.setup(levels, ids, match); err != nil {
			return nil, err
		}
		return c, nil
	}
}

func (c *eventlogCheck) setup(levels, ids, match []string) error {
	for _, l := range splitLists(levels) {
		l = strings.ToLower(l)
		if !slices.Contains(eventLevels, l) {
			return fmt.Errorf("unknown level %q: want %s", l, strings.Join(eventLevels, ", "))
		}
		c.levels = append(c.levels, l)
	}
	if len(c.levels) == 0 {
		c.levels = []string{"error", "warning"}
	}
	for _, s := range splitLists(ids) {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return fmt.Errorf("event id %q is not a number", s)
		}
		c.ids = append(c.ids, uint32(n))
	}
	if len(match) > 0 {
		re, err := regexp.Compile(strings.Join(match, "|"))
		if err != nil {
			return fmt.Errorf("-m: %w", err)
		}
		c.match = re
	}
	if c.lim.warn == nil && c.lim.crit == nil {
		c.lim.warn = &Threshold{Range: Range{End: 0}}
	}
	if c.name == "" {
		h := sha256.Sum256(fmt.Appendf(nil, "%q %q %q %v %v", c.log, c.sources, c.levels, c.ids, c.match))
		c.name = "eventlog-" + hex.EncodeToString(h[:8])
	} else if strings.ContainsAny(c.name, `/\:`) || c.name == "." || c.name == ".." {
		return fmt.Errorf("--name %q: use a plain name", c.name)
	}
	return nil
}

func splitLists(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// eventlogState is what is saved between runs.
type eventlogState struct {
	Log    string `json:"log"`
	Record uint64 `json:"record"`
}

func (c *eventlogCheck) Run(ctx context.Context, sys OS) check.Result {
	const prefix = "EVENTLOG"
	// Asked first, so a host without an event log says that, not that the
	// state folder is missing.
	last, err := sys.LastRecord(ctx, c.log)
	if err != nil {
		return failed(prefix, err)
	}
	var saved eventlogState
	b, err := sys.LoadState(c.name)
	first := errors.Is(err, fs.ErrNotExist)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &saved); err != nil || saved.Log != c.log {
			first = true // a damaged or foreign state: start afresh
		}
	case !first:
		return failed(prefix, fmt.Errorf("read position: %w", err))
	}
	o := outcome{prefix: prefix}
	if first {
		if err := c.save(sys, last); err != nil {
			return failed(prefix, err)
		}
		o.add(check.OK, fmt.Sprintf("first run: reading %s after record %d from now on", c.log, last))
		o.perf = append(o.perf, check.Perf{Label: "events", Value: 0, Min: "0"})
		return o.result()
	}
	events, err := sys.Events(ctx, c.log, saved.Record, c.max)
	if err != nil {
		return failed(prefix, err)
	}
	if len(events) > 0 {
		if err := c.save(sys, events[len(events)-1].Record); err != nil {
			return failed(prefix, err)
		}
	}
	return c.report(&o, events, len(events) == c.max)
}

func (c *eventlogCheck) save(sys OS, record uint64) error {
	data, err := json.Marshal(eventlogState{Log: c.log, Record: record})
	if err == nil {
		err = sys.SaveState(c.name, data)
	}
	if err != nil {
		return fmt.Errorf("save read position: %w", err)
	}
	return nil
}

func (c *eventlogCheck) report(o *outcome, events []Event, more bool) check.Result {
	var hits []Event
	for _, e := range events {
		if c.matches(e) {
			hits = append(hits, e)
		}
	}
	n := len(hits)
	text := fmt.Sprintf("%d new %s events in %s", n, strings.Join(c.levels, "/"), c.log)
	if n > 0 {
		last := hits[n-1]
		text += fmt.Sprintf(", last: %s %s %d: %s", last.Level, last.Source, last.ID, shorten(last.Message, 120))
	}
	if more {
		text += fmt.Sprintf(" (read %d, more follow at the next run)", len(events))
	}
	o.add(c.lim.state(float64(n), 0), text)
	for i, e := range hits {
		if i == 20 {
			o.long = append(o.long, fmt.Sprintf("... and %d more", n-i))
			break
		}
		o.long = append(o.long, fmt.Sprintf("%s %s %s %d: %s", e.Time.UTC().Format("2006-01-02 15:04:05Z"), e.Level, e.Source, e.ID, shorten(e.Message, 200)))
	}
	w, cr := c.lim.perf(0, false)
	o.perf = append(o.perf, check.Perf{Label: "events", Value: float64(n), Warn: w, Crit: cr, Min: "0"})
	return o.result()
}

func (c *eventlogCheck) matches(e Event) bool {
	switch {
	case !slices.Contains(c.levels, e.Level):
		return false
	case len(c.sources) > 0 && !slices.ContainsFunc(c.sources, func(s string) bool { return strings.EqualFold(s, e.Source) }):
		return false
	case len(c.ids) > 0 && !slices.Contains(c.ids, e.ID):
		return false
	case c.match != nil && !c.match.MatchString(e.Message):
		return false
	}
	return true
}

// shorten keeps one line of at most n runes.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
