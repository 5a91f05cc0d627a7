package spooler

import (
	"context"
	"errors"

	"github.com/picket-monitoring/picket/icinga2"
	"github.com/picket-monitoring/picket/internal/check"
)

// Icinga2 adapts an *icinga2.Client to Dialer: the kind of target that is
// Icinga 2's REST API. source is the check_source each result names (the
// agent's host name).
//
// Icinga answers every result, so a batch's results count as delivered only
// on Icinga's own 200 for each; they go over the client's kept-alive
// connections, those of different services side by side. Icinga files each
// under its real execution start and end, so a delayed result needs no
// mark, and carries a ttl, so Icinga's freshness needs no configuration. A
// result for an object Icinga does not know (404), one it refuses (400)
// and one it ignores by design (an unreachable object) are refused for good
// and reported (for an unknown object the agent registers again), never
// retried. An error about the API itself
// (401, TLS, no answer, 5xx) fails the batch from the first result not
// answered, to be sent again.
func Icinga2(c *icinga2.Client, source string) Dialer { return icingaDialer{c, source} }

type icingaDialer struct {
	c      *icinga2.Client
	source string
}

// Dial returns a batch's view of the shared client: its connections live
// across batches, which is what makes Icinga fast.
func (d icingaDialer) Dial(context.Context, string) (Conn, error) { return d, nil }

func (d icingaDialer) Close() error { return nil }

func (d icingaDialer) SendBatch(ctx context.Context, items []Item) (int, error) {
	rs := make([]icinga2.CheckResult, len(items))
	for i, it := range items {
		rs[i] = icingaResult(it, d.source)
	}
	outcomes := d.c.SendBatch(ctx, rs)
	for i, err := range outcomes {
		if err == nil || settledByIcinga(err) {
			if err != nil && !errors.Is(err, icinga2.ErrOutdated) {
				items[i].Refused = err
			}
			continue
		}
		return i, err
	}
	return len(items), nil
}

// settledByIcinga says that sending err's result again would be answered
// the same: the object is unknown or the request wrong (until someone
// changes the objects), or Icinga ignores it by design.
func settledByIcinga(err error) bool {
	return errors.Is(err, icinga2.ErrUnknownObject) || errors.Is(err, icinga2.ErrBadRequest) ||
		errors.Is(err, icinga2.ErrUnreachable) || errors.Is(err, icinga2.ErrOutdated)
}

func icingaResult(it Item, source string) icinga2.CheckResult {
	r := it.Result
	perf := make([]string, len(r.Perfdata))
	for i, p := range r.Perfdata {
		perf[i] = p.String()
	}
	end := r.CheckTime
	if r.Duration > 0 {
		end = r.CheckTime.Add(r.Duration)
	}
	return icinga2.CheckResult{
		Host: r.Host, Service: r.Service, ExitStatus: exitStatus(r),
		Output: r.Output, LongOutput: r.LongOutput, PerfData: perf, CheckSource: source,
		ExecutionStart: r.CheckTime, ExecutionEnd: end, TTL: it.TTL,
	}
}

// exitStatus is the result's state as a plugin's exit code, which is what
// Icinga takes (a host's it maps to UP or DOWN itself).
func exitStatus(r check.Result) int { return int(r.State) }
