package spooler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/nsca"
)

func TestFormatDelay(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "<1m"},
		{59 * time.Second, "<1m"},
		{time.Minute, "1m"},
		{89 * time.Second, "1m"},
		{90 * time.Second, "2m"},
		{45 * time.Minute, "45m"},
		{time.Hour, "1h"},
		{2*time.Hour + 14*time.Minute, "2h14m"},
		{2*time.Hour + 13*time.Minute + 31*time.Second, "2h14m"},
		{23*time.Hour + 59*time.Minute + 29*time.Second, "23h59m"},
		{23*time.Hour + 59*time.Minute + 31*time.Second, "1d"}, // rounds to a day
		{24 * time.Hour, "1d"},
		{26*time.Hour + 3*time.Minute, "1d2h"},
		{3*24*time.Hour + 2*time.Hour + 29*time.Minute, "3d2h"},
		{3*24*time.Hour + 2*time.Hour + 30*time.Minute, "3d3h"},
		{400 * 24 * time.Hour, "400d"},
	}
	for _, tt := range tests {
		if got := formatDelay(tt.d); got != tt.want {
			t.Errorf("formatDelay(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestDelayPrefix(t *testing.T) {
	checked := time.Date(2026, 3, 10, 10, 2, 11, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		delay time.Duration
		want  string
	}{
		{2*time.Hour + 14*time.Minute, "[delayed 2h14m, checked 09:02:11Z] "},
		{20 * time.Second, "[delayed <1m, checked 09:02:11Z] "},
		{24 * time.Hour, "[delayed 1d, checked 09:02:11Z] "},
		{24*time.Hour + time.Second, "[delayed 1d, checked 2026-03-10T09:02:11Z] "},
		{3*24*time.Hour + 2*time.Hour, "[delayed 3d2h, checked 2026-03-10T09:02:11Z] "},
	}
	for _, tt := range tests {
		if got := delayPrefix(tt.delay, checked); got != tt.want {
			t.Errorf("delayPrefix(%v) = %q, want %q", tt.delay, got, tt.want)
		}
	}
}

// A backlog older than the replay window is reduced to each service's
// state changes and its last old result, each marked with when it was
// checked; recent results go as they are.
func TestReplayPolicy(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	add := func(host, svc string, st check.State, out string, at time.Time) {
		log.add(t, check.Result{Host: host, Service: svc, State: st, Output: out, CheckTime: at})
	}
	O, W, C := check.OK, check.Warning, check.Critical
	add("web02", "", O, "host up", now.Add(-26*time.Hour-3*time.Minute)) // a host result, a day old
	states := map[string][]check.State{
		"a": {O, O, C, C, O, O},
		"b": {O, O, O, O, O, O},
		"c": {C, O, C, O, W, W},
	}
	base := now.Add(-2*time.Hour - 14*time.Minute + 11*time.Second) // 09:46:11Z
	for i := range 6 {
		for j, svc := range []string{"a", "b", "c"} {
			at := base.Add(time.Duration(i)*5*time.Minute + time.Duration(j)*time.Second)
			add("web01", svc, states[svc][i], fmt.Sprintf("%s %d", svc, i), at)
		}
	}
	add("web01", "a", O, "a recent", now.Add(-5*time.Minute))
	add("web01", "b", O, "b recent", now.Add(-15*time.Minute)) // exactly at the window's edge: recent
	add("web01", "c", W, "c 6", now.Add(-15*time.Minute-time.Second))
	last := log.add(t, check.Result{Host: "web01", Service: "a", State: C, Output: "a recent 2", CheckTime: now.Add(-time.Minute)})

	s := mustNew(t, Options{Log: log, BatchSize: 4, Now: func() time.Time { return now },
		Targets: []Target{tgt("g", rcv.addr)}})
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"web02  0 [delayed 1d2h, checked 2026-03-09T09:57:00Z] host up",
		"web01 a 0 [delayed 2h14m, checked 09:46:11Z] a 0", // first seen
		"web01 b 0 [delayed 2h14m, checked 09:46:12Z] b 0",
		"web01 c 2 [delayed 2h14m, checked 09:46:13Z] c 0",
		"web01 c 0 [delayed 2h9m, checked 09:51:13Z] c 1", // changes
		"web01 a 2 [delayed 2h4m, checked 09:56:11Z] a 2",
		"web01 c 2 [delayed 2h4m, checked 09:56:13Z] c 2",
		"web01 c 0 [delayed 1h59m, checked 10:01:13Z] c 3",
		"web01 a 0 [delayed 1h54m, checked 10:06:11Z] a 4",
		"web01 c 1 [delayed 1h54m, checked 10:06:13Z] c 4",
		"web01 a 0 [delayed 1h49m, checked 10:11:11Z] a 5", // each one's last
		"web01 b 0 [delayed 1h49m, checked 10:11:12Z] b 5",
		"web01 c 1 [delayed 1h49m, checked 10:11:13Z] c 5",
		"web01 a 0 a recent", // recent: as it is
		"web01 b 0 b recent",
		"web01 c 1 [delayed 15m, checked 11:44:59Z] c 6", // a second old run, one record: its last
		"web01 a 2 a recent 2",
	}
	got := rcv.wait(t, len(want))
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = fmt.Sprintf("%s %s %d %s", got[i].Host, got[i].Service, got[i].ReturnCode, got[i].Output)
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("packet %d:\n got %q\nwant %q", i, g, w)
		}
	}
	st := groupStats(t, s, "g")
	if st.Reduced != 6 || st.Sent != uint64(len(want)) || st.Stale != 0 || log.Position("g") != last {
		t.Errorf("reduced %d sent %d stale %d cursor %d; want 6, %d, 0, %d",
			st.Reduced, st.Sent, st.Stale, log.Position("g"), len(want), last)
	}
}

// The delay prefix goes in front of the output, which is then cut to what
// the target's packets carry.
func TestDelayedOutputIsCutToMaxOutput(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	long := strings.Repeat("é", 300) // 600 bytes, two per rune
	checked := now.Add(-time.Hour)
	r := check.Result{Host: "web01", Service: "log", Output: long, CheckTime: checked,
		Perfdata: []check.Perf{{Label: "lines", Value: 3}}}
	log.add(t, r)
	r.CheckTime, r.State = now, check.Warning
	log.add(t, r)
	legacy := NSCA(&nsca.Dialer{Method: nsca.None, Legacy: true})
	s := mustNew(t, Options{Log: log, Now: func() time.Time { return now },
		Targets: []Target{{Group: "g", Address: rcv.addr, Dialer: legacy}}})
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rcv.wait(t, 2)
	wantOld := nsca.TruncateOutput("[delayed 1h, checked 11:00:00Z] "+long+" | lines=3", nsca.MaxLegacyOutput)
	wantNew := nsca.TruncateOutput(long, nsca.MaxLegacyOutput)
	if got[0].Output != wantOld || len(wantOld) > nsca.MaxLegacyOutput || len(wantOld) < nsca.MaxLegacyOutput-1 {
		t.Errorf("old result: %q", got[0].Output)
	}
	if got[1].Output != wantNew {
		t.Errorf("recent result: %q", got[1].Output)
	}
}

// A result checked no later than one already sent for the same service is
// never sent after it: not an older one, not a duplicate.
func TestStaleResultsAreSkipped(t *testing.T) {
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	t0 := time.Now()
	add := func(svc, out string, at time.Duration) uint64 {
		return log.add(t, check.Result{Host: "web01", Service: svc, Output: out, CheckTime: t0.Add(at)})
	}
	add("x", "first", 10*time.Second)
	add("x", "older", 9*time.Second)
	add("x", "duplicate", 10*time.Second)
	add("y", "other service", 5*time.Second)
	add("x", "newer", 11*time.Second)
	s := mustNew(t, Options{Log: log, Targets: []Target{tgt("g", rcv.addr)}})
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(outputs(rcv.wait(t, 3)), ","); got != "first,other service,newer" {
		t.Errorf("received %s", got)
	}
	// Also across passes, as when a crash between send and commit makes
	// the same records come round again.
	last := add("x", "late", 10500*time.Millisecond)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := groupStats(t, s, "g")
	if st.Stale != 3 || st.Sent != 3 || log.Position("g") != last || rcv.count() != 3 {
		t.Errorf("stale %d sent %d cursor %d received %d; want 3, 3, %d, 3", st.Stale, st.Sent, log.Position("g"), rcv.count(), last)
	}
}

// Records the codec refuses, or that no packet can carry, are skipped and
// counted; the ones after them are sent.
func TestUndecodableRecordsAreSkipped(t *testing.T) {
	log := &memLog{}
	var logs logBuffer
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	t0 := time.Now()
	addNumbered(t, log, t0, 0, 1)
	log.appendData([]byte("not a result"))
	addNumbered(t, log, t0, 1, 2)
	log.add(t, check.Result{Host: strings.Repeat("h", nsca.MaxHost+1), Service: "svc", Output: "too long a name", CheckTime: t0})
	log.appendData(nil)
	last := addNumbered(t, log, t0, 2, 3)
	s := mustNew(t, Options{Log: log, Logger: logs.logger(), Targets: []Target{tgt("g", rcv.addr)}})
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantNumbered(t, "receiver", outputs(rcv.wait(t, 3)), 0, 3)
	st := groupStats(t, s, "g")
	if st.Undecodable != 2 || st.Invalid != 1 || st.Sent != 3 || log.Position("g") != last {
		t.Errorf("stats %+v, cursor %d; want 2 undecodable, 1 invalid, 3 sent, cursor %d", st, log.Position("g"), last)
	}
	if c := logs.count("records skipped"); c != 1 || !strings.Contains(logs.String(), "seq 2") {
		t.Errorf("want one line naming the first bad record:\n%s", logs.String())
	}
}

// A batch of nothing but reduced records moves the cursor over them.
func TestReducedBatchMovesCursor(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	log := &memLog{}
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	var last uint64
	for i := range 20 {
		last = log.add(t, check.Result{Host: "web01", Service: "s", Output: fmt.Sprint(i), CheckTime: now.Add(-time.Hour + time.Duration(i)*time.Second)})
	}
	s := mustNew(t, Options{Log: log, BatchSize: 5, Now: func() time.Time { return now }, Targets: []Target{tgt("g", rcv.addr)}})
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := outputs(rcv.wait(t, 2))
	if len(got) != 2 || !strings.HasSuffix(got[0], "] 0") || !strings.HasSuffix(got[1], "] 19") {
		t.Errorf("received %q, want the first and the last", got)
	}
	if st := groupStats(t, s, "g"); st.Reduced != 18 || log.Position("g") != last {
		t.Errorf("reduced %d cursor %d", st.Reduced, log.Position("g"))
	}
}

// However batches and read-aheads cut a long backlog, the reduction is the
// one a single look at the whole of it gives.
func TestReplayReductionIgnoresBatchBoundaries(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	type rec struct {
		svc   string
		state check.State
	}
	var recs []rec
	for range 600 {
		// Mostly steady states with the odd change, as a real backlog.
		svc := fmt.Sprint("s", rng.IntN(4))
		st := check.OK
		if rng.IntN(6) == 0 {
			st = check.State(rng.IntN(4))
		}
		recs = append(recs, rec{svc, st})
	}
	// The reference: first of each service, every change, each one's last.
	lastOf := map[string]int{}
	for i, r := range recs {
		lastOf[r.svc] = i
	}
	var want []string
	prev := map[string]check.State{}
	for i, r := range recs {
		p, seen := prev[r.svc]
		prev[r.svc] = r.state
		if !seen || p != r.state || lastOf[r.svc] == i {
			want = append(want, fmt.Sprint(r.svc, " ", i))
		}
	}
	for _, batch := range []int{1, 3, 7, 64, 1000} {
		t.Run(fmt.Sprint("batch=", batch), func(t *testing.T) {
			log := &memLog{}
			rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
			for i, r := range recs {
				log.add(t, check.Result{Host: "web01", Service: r.svc, State: r.state, Output: fmt.Sprint(r.svc, " ", i),
					CheckTime: now.Add(-2*time.Hour + time.Duration(i)*time.Second)})
			}
			s := mustNew(t, Options{Log: log, BatchSize: batch, Now: func() time.Time { return now },
				Targets: []Target{tgt("g", rcv.addr)}})
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range outputs(rcv.wait(t, len(want))) {
				got = append(got, o[strings.Index(o, "] ")+2:])
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("sent %d:\n%v\nwant %d:\n%v", len(got), got, len(want), want)
			}
			if st := groupStats(t, s, "g"); st.Reduced != uint64(len(recs)-len(want)) {
				t.Errorf("reduced %d, want %d", st.Reduced, len(recs)-len(want))
			}
		})
	}
}

// A read-ahead that fails leaves the records from the first old one on
// for the next pass, which reduces them as if nothing had happened.
func TestFailedReadAheadIsRetried(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	log := &memLog{failRead: map[int]bool{2: true}} // the first read-ahead
	rcv := startReceiver(t, "127.0.0.1:0", nsca.None)
	add := func(out string, at time.Time) uint64 {
		return log.add(t, check.Result{Host: "web01", Service: "s", Output: out, CheckTime: at})
	}
	add("first", now.Add(-time.Hour+time.Second))
	for i := range 6 {
		add(fmt.Sprint("old ", i), now.Add(-time.Hour+time.Duration(i+2)*time.Second))
	}
	s := mustNew(t, Options{Log: log, BatchSize: 4, Now: func() time.Time { return now }, Targets: []Target{tgt("g", rcv.addr)}})
	if err := s.Flush(context.Background()); !errors.Is(err, errDisk) {
		t.Fatalf("first flush: %v, want the read error", err)
	}
	if p := log.Position("g"); p != 0 || rcv.count() != 0 {
		t.Fatalf("after the failed read-ahead: cursor %d, %d sent", p, rcv.count())
	}
	last := add("new", now)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outputs(rcv.wait(t, 3)) {
		if _, text, delayed := strings.Cut(o, "] "); delayed {
			o = "delayed " + text
		}
		got = append(got, o)
	}
	if strings.Join(got, ",") != "delayed first,delayed old 5,new" {
		t.Errorf("sent %q", got)
	}
	if st := groupStats(t, s, "g"); st.Reduced != 5 || log.Position("g") != last || !strings.Contains(st.LastError, "read ahead") {
		t.Errorf("stats %+v, cursor %d", st, log.Position("g"))
	}
}

// A batch read while its results were recent, and sent only after an
// outage longer than the replay window, is judged again when it is sent:
// its results are old by then, so they are reduced and marked as delayed
// like any other old result.
func TestReplayPolicyAppliesWhenABatchIsResent(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	log := &memLog{}
	O, C := check.OK, check.Critical
	for i, st := range []check.State{O, O, C, C, O} {
		log.add(t, check.Result{Host: "web01", Service: "a", State: st, Output: fmt.Sprintf("r%d", i),
			CheckTime: now.Add(-time.Minute + time.Duration(i)*10*time.Second)})
	}
	addr := closedAddr(t)
	s := mustNew(t, Options{Log: log, Now: func() time.Time { return clock() }, Targets: []Target{tgt("g", addr)}})
	if err := s.Flush(context.Background()); err == nil {
		t.Fatal("flush to a closed port succeeded")
	}
	now = now.Add(30 * time.Minute) // the outage outlasts the window
	rcv := startReceiver(t, addr, nsca.None)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[delayed 31m, checked 11:59:00Z] r0",
		"[delayed 31m, checked 11:59:20Z] r2",
		"[delayed 30m, checked 11:59:40Z] r4",
	}
	if got := rcv.outputs(); !slices.Equal(got, want) {
		t.Errorf("sent after the outage:\n%q\nwant\n%q", got, want)
	}
	if st := groupStats(t, s, "g"); st.Reduced != 2 || st.Sent != 3 {
		t.Errorf("stats: reduced %d sent %d, want 2 and 3", st.Reduced, st.Sent)
	}
}
