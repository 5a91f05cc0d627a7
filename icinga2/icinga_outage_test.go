package icinga2

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/icingatest"
)

// TestIcingaOutageAndReplay stops icinga2 (SIGTERM to its pid) while a
// batch is on its way, restarts it from the same directory, and replays
// from the first result not acknowledged, as a spool's cursor would: every
// service ends with its newest result and real check time, and Icinga never
// received a result older than one it had.
func TestIcingaOutageAndReplay(t *testing.T) {
	needIcinga(t)
	in := icingatest.Must(t, icingatest.Options{})
	c := clientFor(t, in, func(cfg *Config) { cfg.MaxConcurrency = 2; cfg.Timeout = 5 * time.Second })
	services := names("out", 20)
	register(t, c, icingatest.ServiceTemplate, "outage01", services...)
	t0 := past(time.Hour)
	const last = 99
	rs := rounds("outage01", services, t0, last+1)

	// Stop icinga2 once the batch is a few rounds in.
	done := make(chan []error, 1)
	go func() { done <- c.SendBatch(context.Background(), rs) }()
	stored(t, in, "outage01", services[0], func(r *icingatest.Result) bool {
		return r.ExecutionStart.After(t0.Add(4 * time.Second))
	})
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	out := <-done
	acked := Acknowledged(out)
	if acked == len(rs) {
		t.Fatal("the batch finished before icinga2 stopped: no outage was tested")
	}
	kinds := map[string]int{}
	for _, err := range out[acked:] {
		kinds[Kind(err)]++
	}
	if !errors.Is(out[acked], ErrUnavailable) && !errors.Is(out[acked], ErrNotSent) {
		t.Fatalf("first unacknowledged result: %v, want unavailable or not sent", out[acked])
	}
	t.Logf("outage: %d of %d acknowledged; the rest: %v", acked, len(rs), kinds)

	// While it is down, a replay fails fast and sends nothing.
	again := c.SendBatch(context.Background(), rs[acked:])
	if Acknowledged(again) != 0 || !Retryable(again[0]) {
		t.Fatalf("replay while down: %d acknowledged, first %v", Acknowledged(again), again[0])
	}

	if err := in.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	for pass := 0; acked < len(rs); pass++ {
		if pass == 5 {
			t.Fatalf("replay stuck at %d of %d: %v", acked, len(rs), out[0])
		}
		out = c.SendBatch(context.Background(), rs[acked:])
		acked += Acknowledged(out)
	}
	wantNewest(t, in, "outage01", services, t0, last)
}
