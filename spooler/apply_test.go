package spooler

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/nsca"
)

// A change to one group restarts that group only: the other keeps its
// targets as they were (their counters run on), the changed one gets fresh
// targets and goes on from its position, and both still get everything,
// once.
func TestApplyRestartsOnlyTheChangedGroup(t *testing.T) {
	log := &memLog{}
	a := startReceiver(t, "127.0.0.1:0", nsca.None)
	b := startReceiver(t, "127.0.0.1:0", nsca.None)
	t0 := time.Now()
	addNumbered(t, log, t0, 0, 10)
	ta, tb := tgt("a", a.addr), tgt("b", b.addr)
	s := mustNew(t, Options{Log: log, FlushInterval: 10 * time.Millisecond, Targets: []Target{ta, tb}})
	running(t, s)
	a.wait(t, 10)
	b.wait(t, 10)
	waitFor(t, "both groups to count what they sent", func() bool {
		return groupStats(t, s, "a").Targets[0].Sent == 10 && groupStats(t, s, "b").Sent == 10
	})

	tb.Fingerprint = "new password"
	if err := s.Apply(Options{FlushInterval: 10 * time.Millisecond, Targets: []Target{ta, tb}}); err != nil {
		t.Fatal(err)
	}
	if st := groupStats(t, s, "a"); st.Targets[0].Sent != 10 {
		t.Errorf("unchanged group a was restarted: its target's count is %d, want 10", st.Targets[0].Sent)
	}
	if st := groupStats(t, s, "b"); st.Targets[0].Sent != 0 || st.Sent != 10 {
		t.Errorf("changed group b: target sent %d (want a fresh 0), group sent %d (want 10)", st.Targets[0].Sent, st.Sent)
	}
	addNumbered(t, log, t0, 10, 20)
	s.Wake()
	wantNumbered(t, "a", outputs(a.wait(t, 20)), 0, 20)
	wantNumbered(t, "b", outputs(b.wait(t, 20)), 0, 20)
}

// A group that leaves and comes back resumes from its own cursor: what it
// had sent is not sent again, what it missed meanwhile is sent.
func TestApplyGroupThatComesBackResumesFromItsCursor(t *testing.T) {
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	t0 := time.Now()
	addNumbered(t, log, t0, 0, 5)
	g := tgt("g", rcv.addr)
	s := mustNew(t, Options{Log: log, FlushInterval: 10 * time.Millisecond, Targets: []Target{g}})
	running(t, s)
	rcv.wait(t, 5)

	if err := s.Apply(Options{FlushInterval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Stats().Groups); n != 0 {
		t.Fatalf("%d groups after all left", n)
	}
	addNumbered(t, log, t0, 5, 12) // arrive while the group is gone
	time.Sleep(50 * time.Millisecond)
	if n := rcv.count(); n != 5 {
		t.Fatalf("a group no longer configured sent: %d packets", n)
	}
	if err := s.Apply(Options{FlushInterval: 10 * time.Millisecond, Targets: []Target{g}}); err != nil {
		t.Fatal(err)
	}
	wantNumbered(t, "receiver", outputs(rcv.wait(t, 12)), 0, 12)
	time.Sleep(50 * time.Millisecond)
	if n := rcv.count(); n != 12 {
		t.Errorf("receiver has %d packets, want 12: sent twice", n)
	}
}

// Apply validates as New does and changes nothing when it refuses.
func TestApplyRefusesBadOptions(t *testing.T) {
	log := &memLog{}
	s := mustNew(t, Options{Log: log, Targets: []Target{tgt("g", "127.0.0.1:5667")}})
	err := s.Apply(Options{Targets: []Target{{Group: "g", Address: "a:1"}}})
	if !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("Apply = %v, want ErrInvalidOptions", err)
	}
	if st := s.Stats(); len(st.Groups) != 1 || st.Groups[0].Targets[0].Address != "127.0.0.1:5667" {
		t.Errorf("a refused Apply changed the groups: %+v", st)
	}
}

// Flush during Apply never sends a record twice: Apply waits for the
// group's turn.
func TestApplyWhileFlushing(t *testing.T) {
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	addNumbered(t, log, time.Now(), 0, 200)
	g := tgt("g", rcv.addr)
	s := mustNew(t, Options{Log: log, BatchSize: 10, Targets: []Target{g}})
	done := make(chan error, 1)
	go func() { done <- s.Flush(context.Background()) }()
	g.Fingerprint = "changed"
	if err := s.Apply(Options{BatchSize: 10, Targets: []Target{g}}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantNumbered(t, "receiver", outputs(rcv.wait(t, 200)), 0, 200)
}

// The log says once when results first reach a target, once when it goes
// down (again only when the error changes or a minute passed, with the
// count), and once when it is back, however many batches go by.
func TestTargetEventsAreLoggedOnce(t *testing.T) {
	log := &memLog{}
	var logs logBuffer
	addr := closedAddr(t)
	addNumbered(t, log, time.Now(), 0, 5)
	s := mustNew(t, Options{Log: log, BatchSize: 1, Logger: logs.logger(), Targets: []Target{tgt("g", addr)}})
	for range 3 {
		s.Flush(context.Background()) // three failed attempts
	}
	rcv := startReceiver(t, addr, nsca.None)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	addNumbered(t, log, time.Now(), 5, 8)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rcv.wait(t, 8)
	for msg, want := range map[string]int{
		`level=WARN msg="spooler: target failed"`: 1,
		"target reachable again":                  1,
		"first results delivered to the target":   1,
	} {
		if n := logs.count(msg); n != want {
			t.Errorf("%q logged %d times, want %d\n%s", msg, n, want, logs.String())
		}
	}
}
