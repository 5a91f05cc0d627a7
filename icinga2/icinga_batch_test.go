package icinga2

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/icingatest"
)

// rounds is n rounds of one result per service of host, round i checked at
// t0+i seconds, in the order a spool holds them.
func rounds(host string, services []string, t0 time.Time, n int) []CheckResult {
	var rs []CheckResult
	for i := range n {
		for _, s := range services {
			at := t0.Add(time.Duration(i) * time.Second)
			rs = append(rs, CheckResult{Host: host, Service: s, ExitStatus: i % 4, Output: fmt.Sprintf("round %d", i),
				PerfData: []string{fmt.Sprintf("round=%d", i)}, ExecutionStart: at, ExecutionEnd: at.Add(time.Millisecond)})
		}
	}
	return rs
}

func names(prefix string, n int) []string {
	var s []string
	for i := range n {
		s = append(s, fmt.Sprintf("%s%02d", prefix, i))
	}
	return s
}

// wantNewest fails unless every service stores round last (sent at
// t0+last seconds) and Icinga skipped none of its results as older.
func wantNewest(t *testing.T, in *icingatest.Instance, host string, services []string, t0 time.Time, last int) {
	t.Helper()
	want := t0.Add(time.Duration(last) * time.Second)
	skipped, err := in.Skipped(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		o, err := in.Service(context.Background(), host, s)
		if err != nil {
			t.Fatal(err)
		}
		r := o.Result
		if r == nil || r.Output != fmt.Sprintf("round %d", last) || !r.ExecutionStart.Equal(want) || r.State != last%4 {
			t.Fatalf("%s!%s stores %+v, want round %d executed at %v", host, s, r, last, want)
		}
		if n := skipped[host+"!"+s]; n != 0 {
			t.Fatalf("%s!%s: Icinga skipped %d results as older than its own", host, s, n)
		}
	}
}

// TestIcingaBatchOverKeepAlive sends 1000 results and logs the rates: the
// batch at concurrency 4 and 1 over kept-alive connections, and one new
// TLS connection per result, measured in the same run.
func TestIcingaBatchOverKeepAlive(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, nil)
	services := names("svc", 10)
	register(t, c, icingatest.ServiceTemplate, "batch01", services...)
	t0 := past(time.Hour)
	rs := rounds("batch01", services, t0, 100)

	began := time.Now()
	out := c.SendBatch(context.Background(), rs)
	took := time.Since(began)
	if n := Acknowledged(out); n != len(rs) {
		t.Fatalf("acknowledged %d of %d; first failure: %v", n, len(rs), out[n])
	}
	wantNewest(t, in, "batch01", services, t0, 99)

	c1 := clientFor(t, in, func(cfg *Config) { cfg.MaxConcurrency = 1 })
	rs1 := rounds("batch01", services, t0.Add(time.Minute), 100)
	began1 := time.Now()
	if n := Acknowledged(c1.SendBatch(context.Background(), rs1)); n != len(rs1) {
		t.Fatalf("concurrency 1: acknowledged %d of %d", n, len(rs1))
	}
	took1 := time.Since(began1)

	// A new client per result: a new TCP and TLS connection each time.
	const fresh = 50
	rsf := rounds("batch01", services[:1], t0.Add(2*time.Minute), fresh)
	beganF := time.Now()
	for _, r := range rsf {
		cf := clientFor(t, in, nil)
		if err := cf.ProcessCheckResult(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		cf.Close()
	}
	tookF := time.Since(beganF)
	perSec := func(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
	t.Logf("icinga2 %s, %d results: keep-alive concurrency 4: %.0f/s; concurrency 1: %.0f/s; "+
		"new TLS connection per result: %.0f/s (keep-alive at 4 is %.0fx faster)",
		in.URL, len(rs), perSec(len(rs), took), perSec(len(rs1), took1), perSec(fresh, tookF),
		perSec(len(rs), took)/perSec(fresh, tookF))
}

// TestIcingaOrderPerObject: a batch holding older results after newer ones
// for some services (a clock step on the agent) delivers the newest of
// each, never sends the older ones, and Icinga skips nothing. Sent without
// the client's rule, Icinga answers 200 to an older result and drops it.
func TestIcingaOrderPerObject(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, nil)
	services := names("ord", 6)
	register(t, c, icingatest.ServiceTemplate, "order01", services...)
	t0 := past(time.Hour)
	rs := rounds("order01", services, t0, 40)
	var older []int
	for i := 100; i < len(rs); i += 37 {
		r := rs[i]
		r.Output, r.ExecutionStart = "older", r.ExecutionStart.Add(-20*time.Second)
		rs = append(rs[:i+1], append([]CheckResult{r}, rs[i+1:]...)...)
		older = append(older, i+1)
	}
	out := c.SendBatch(context.Background(), rs)
	for i, err := range out {
		isOlder := len(older) > 0 && i == older[0]
		if isOlder {
			older = older[1:]
		}
		if isOlder != errors.Is(err, ErrOutdated) || (!isOlder && err != nil) {
			t.Fatalf("result %d (%s %q): %v", i, rs[i].Object(), rs[i].Output, err)
		}
	}
	if Acknowledged(out) != len(rs) {
		t.Fatal("outdated results must count as acknowledged")
	}
	wantNewest(t, in, "order01", services, t0, 39)

	// Why the rule: a client that does not know what it delivered sends an
	// older result; Icinga says 200 and keeps the newer.
	naive := clientFor(t, in, nil)
	stale := rs[0]
	if err := naive.ProcessCheckResult(context.Background(), stale); err != nil {
		t.Fatalf("older result from a new client: %v (Icinga 2.13 answers 200)", err)
	}
	if skipped, err := in.Skipped(context.Background()); err != nil || skipped[stale.Object()] != 1 {
		t.Fatalf("Icinga skipped %d results of %s, want 1 (%v)", skipped[stale.Object()], stale.Object(), err)
	}
	o, _ := in.Service(context.Background(), "order01", stale.Service)
	if o.Result.Output != "round 39" {
		t.Fatalf("stored %q after an older result", o.Result.Output)
	}
}

// TestIcingaTTL: with freshness (active checks on, check_command
// "passive"), no newer result within ttl makes Icinga set the service
// UNKNOWN "No Passive Check Result Received." by a check of its own, dated
// when it ran; a late result executed before that is then dropped as
// older. A passive-only service ignores ttl.
func TestIcingaTTL(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, nil)
	register(t, c, icingatest.FreshServiceTemplate, "ttl01", "fresh")
	register(t, c, icingatest.ServiceTemplate, "ttl01", "passive")
	const ttl = 3 * time.Second
	sent := time.Now()
	for _, svc := range []string{"fresh", "passive"} {
		r := CheckResult{Host: "ttl01", Service: svc, Output: "OK", ExecutionStart: past(0), TTL: ttl}
		if err := c.ProcessCheckResult(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	o := stored(t, in, "ttl01", "fresh", func(r *icingatest.Result) bool { return r.Active })
	r := o.Result
	if o.State != 3 || r.Output != "No Passive Check Result Received." || r.ExecutionStart.Before(sent.Add(ttl-100*time.Millisecond)) {
		t.Fatalf("after ttl: state %d %+v, want UNKNOWN from a freshness check no sooner than %v after sending", o.State, r, ttl)
	}
	t.Logf("freshness check ran %v after the result with ttl %v arrived", r.ExecutionStart.Sub(sent).Round(time.Millisecond), ttl)

	p, err := in.Service(context.Background(), "ttl01", "passive")
	if err != nil || p.State != 0 || p.Result.Output != "OK" {
		t.Fatalf("passive-only service after ttl: %+v %v, want it still OK", p, err)
	}

	late := CheckResult{Host: "ttl01", Service: "fresh", Output: "late", ExecutionStart: r.ExecutionStart.Add(-time.Second)}
	if err := c.ProcessCheckResult(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	if skipped, err := in.Skipped(context.Background()); err != nil || skipped["ttl01!fresh"] != 1 {
		t.Fatalf("a result executed before the freshness check: skipped %d times, want 1 (%v)", skipped["ttl01!fresh"], err)
	}
}
