package hub

import (
	"cmp"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/nsca"
)

// dropRun is a run of results the receiver could not hand to Nagios, from
// the first refused until one is accepted again.
type dropRun struct {
	Results     uint64
	From, To    time.Time // when the dropped results were checked (or received)
	First, Last time.Time // when the first and the last were dropped
	Hosts       map[string]uint64
}

// dropLedger counts, exactly, the results the receiver read but could not
// queue for Nagios' command file (the queue was full: Nagios stopped reading
// for longer than queue_size results take), by host and with when they were
// checked. A run of drops is logged when it starts and, with its count,
// when it ends; the server's own service says so while any is newer than
// hold.
type dropLedger struct {
	logger *slog.Logger
	hold   time.Duration

	mu    sync.Mutex
	total uint64
	cur   *dropRun
	runs  []dropRun // finished, newest last
}

const maxDropRuns = 100

func newDropLedger(logger *slog.Logger, hold time.Duration) *dropLedger {
	return &dropLedger{logger: logger, hold: hold}
}

// drop counts one result that was not queued.
func (d *dropLedger) drop(r nsca.Received, now time.Time) {
	d.count(r, now, func() {
		d.logger.Error("command file queue is full: results are being dropped until Nagios reads the command file again",
			"host", r.Host, "service", r.Service)
	})
}

// failed counts one result that could not be written (a result file).
func (d *dropLedger) failed(r nsca.Received, err error, now time.Time) {
	d.count(r, now, func() {
		d.logger.Error("cannot write a check result file: results are being dropped", "err", err)
	})
}

// count adds r to the run under way, starting one (and saying so with
// started) if there is none.
func (d *dropLedger) count(r nsca.Received, now time.Time, started func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.total++
	if d.cur == nil {
		d.cur = &dropRun{From: r.Time, To: r.Time, First: now, Hosts: map[string]uint64{}}
		started()
	}
	c := d.cur
	c.Results++
	c.From, c.To = minTime(c.From, r.Time), maxTime(c.To, r.Time)
	c.Last = now
	c.Hosts[r.Host]++
}

// queued notes that a result was queued again, which ends a run of drops.
func (d *dropLedger) queued() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur == nil {
		return
	}
	c := *d.cur
	d.cur = nil
	d.runs = append(d.runs, c)
	if len(d.runs) > maxDropRuns {
		d.runs = slices.Delete(d.runs, 0, len(d.runs)-maxDropRuns)
	}
	d.logger.Error("command file queue took results again: results were dropped",
		"dropped", c.Results, "checked", fmt.Sprintf("%s to %s", c.From.UTC().Format(time.RFC3339), c.To.UTC().Format(time.RFC3339)),
		"hosts", hostCounts(c.Hosts))
}

// recent returns the runs newer than hold, the one under way included,
// and the total dropped since start.
func (d *dropLedger) recent(now time.Time) (runs []dropRun, total uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.runs {
		if now.Sub(r.Last) < d.hold {
			runs = append(runs, r)
		}
	}
	if d.cur != nil {
		runs = append(runs, *d.cur)
	}
	return runs, d.total
}

// hostCounts lists the hosts that lost most first: "web01 300, db1 12".
func hostCounts(m map[string]uint64) string {
	hosts := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
	var parts []string
	for i, h := range hosts {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("%d more hosts", len(hosts)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", h, m[h]))
	}
	return strings.Join(parts, ", ")
}

// serverReport is the server's own result: what the receiver read and
// wrote since the last report, CRITICAL while it has dropped results
// within hold.
func serverReport(host, service string, now time.Time, srv nsca.Stats, q nagios.QueueStats, drops []dropRun, dropped uint64) check.Result {
	r := check.Result{Host: host, Service: service, State: check.OK, CheckTime: now}
	var lost uint64
	var parts []string
	for _, d := range drops {
		lost += d.Results
		parts = append(parts, fmt.Sprintf("%d checked %s to %s (%s)", d.Results,
			d.From.UTC().Format("2006-01-02 15:04:05Z"), d.To.UTC().Format("15:04:05Z"), hostCounts(d.Hosts)))
	}
	status := fmt.Sprintf("%d packets read, %d results written to the command file, %d queued", srv.Packets, q.Written, q.Pending)
	if lost > 0 {
		r.State = check.Critical
		r.Output = fmt.Sprintf("PICKET SERVER CRITICAL - %d results dropped, the command file queue was full: %s; %s",
			lost, strings.Join(parts, "; "), status)
	} else {
		r.Output = "PICKET SERVER OK - " + status
	}
	r.ExitCode = int(r.State)
	r.Perfdata = []check.Perf{
		{Label: "packets", Value: float64(srv.Packets), UOM: "c"},
		{Label: "written", Value: float64(q.Written), UOM: "c"},
		{Label: "queued", Value: float64(q.Pending)},
		{Label: "dropped", Value: float64(dropped), UOM: "c"},
		{Label: "rejected", Value: float64(srv.BadCRC + srv.BadVersion + srv.Stale + srv.ShortPackets), UOM: "c"},
	}
	return r
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
