package spooler

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/nsca"
)

// A check sent only on change: unchanged results are left out until the
// heartbeat, a change goes at once, an output change goes only where the
// check asks for it, other checks are untouched, and the first result
// after Apply (a reload) goes whatever it says.
func TestSendOnChange(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	O, C := check.OK, check.Critical
	add := func(svc string, minute int, st check.State, out string) {
		log.add(t, check.Result{Host: "web01", Service: svc, State: st, Output: out, CheckTime: t0.Add(time.Duration(minute) * time.Minute)})
	}
	for m := range 12 {
		st := O
		if m == 5 || m == 6 {
			st = C
		}
		add("quiet", m, st, fmt.Sprintf("quiet %d", m))  // change only, heartbeat 4m
		add("wordy", m, O, fmt.Sprintf("wordy %d", m%2)) // change or new output
		add("always", m, O, fmt.Sprintf("always %d", m)) // every result
	}
	policy := func(k check.Key) SendPolicy {
		switch k.Service {
		case "quiet":
			return SendPolicy{OnChange: true, Heartbeat: 4 * time.Minute}
		case "wordy":
			return SendPolicy{OnChange: true, OnOutput: true, Heartbeat: time.Hour}
		}
		return SendPolicy{}
	}
	now := t0.Add(12 * time.Minute)
	s := mustNew(t, Options{Log: log, Policy: policy, Now: func() time.Time { return now }, Targets: []Target{tgt("g", rcv.addr)}})
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, p := range rcv.packets() {
		got[p.Service] = append(got[p.Service], p.Output)
	}
	want := map[string][]string{
		// 0 first; 4 heartbeat; 5 change to CRITICAL; 7 back to OK; 11 heartbeat.
		"quiet": {"quiet 0", "quiet 4", "quiet 5", "quiet 7", "quiet 11"},
		// every other minute the output changes
		"wordy": {"wordy 0", "wordy 1", "wordy 0", "wordy 1", "wordy 0", "wordy 1", "wordy 0", "wordy 1", "wordy 0", "wordy 1", "wordy 0", "wordy 1"},
	}
	for svc, w := range want {
		if !slices.Equal(got[svc], w) {
			t.Errorf("%s sent %q, want %q", svc, got[svc], w)
		}
	}
	if len(got["always"]) != 12 {
		t.Errorf("always: %d sent, want all 12", len(got["always"]))
	}
	if g := groupStats(t, s, "g"); g.Unchanged != 7 {
		t.Errorf("unchanged %d, want 7", g.Unchanged)
	}

	// After a reload, the first result goes although nothing changed.
	add("quiet", 12, O, "quiet 12")
	if err := s.Apply(Options{Policy: policy, Targets: []Target{tgt("g", rcv.addr)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if last := rcv.packets()[len(rcv.packets())-1]; last.Output != "quiet 12" {
		t.Errorf("after a reload the first result was not sent: last %q", last.Output)
	}
}
