package icinga2

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// interleaved is n results for each of objects services of host h, the
// i-th result of each checked at t0+i seconds, in the order a spool would
// hold them: round by round.
func interleaved(t0 time.Time, objects, n int) []CheckResult {
	var rs []CheckResult
	for i := range n {
		for o := range objects {
			at := t0.Add(time.Duration(i) * time.Second)
			rs = append(rs, CheckResult{Host: "h", Service: fmt.Sprint("s", o), Output: fmt.Sprint("r", i),
				ExecutionStart: at, ExecutionEnd: at})
		}
	}
	return rs
}

func TestBatchKeepsOrderPerObjectUnderConcurrency(t *testing.T) {
	var inFlight, most atomic.Int32
	var mu sync.Mutex
	arrived := map[string][]float64{}
	f := startFake(t, func(req request) (int, string) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		mu.Lock()
		obj := objectOf(req)
		arrived[obj] = append(arrived[obj], req.Body["execution_start"].(float64))
		k := len(arrived[obj])
		mu.Unlock()
		time.Sleep(time.Duration(k%3) * time.Millisecond) // uneven replies, so objects overtake each other
		return okAnswer(req)
	})
	c := f.client(t, func(cfg *Config) { cfg.MaxConcurrency = 4 })
	t0 := time.Unix(1_800_000_000, 0)
	rs := interleaved(t0, 8, 25)
	// An older result after a newer one for s3: it must not reach Icinga.
	late := CheckResult{Host: "h", Service: "s3", Output: "late", ExecutionStart: t0.Add(2 * time.Second)}
	rs = append(rs[:100], append([]CheckResult{late}, rs[100:]...)...)

	out := c.SendBatch(context.Background(), rs)
	for i, err := range out {
		if i == 100 {
			if !errors.Is(err, ErrOutdated) {
				t.Errorf("older result after newer: %v, want ErrOutdated", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("result %d (%s): %v", i, rs[i].Object(), err)
		}
	}
	if n := Acknowledged(out); n != len(rs) {
		t.Errorf("acknowledged %d of %d", n, len(rs))
	}
	for obj, starts := range arrived {
		if len(starts) != 25 {
			t.Errorf("%s received %d results, want 25", obj, len(starts))
		}
		for i := 1; i < len(starts); i++ {
			if starts[i] < starts[i-1] {
				t.Fatalf("%s received %v after %v: older after newer", obj, starts[i], starts[i-1])
			}
		}
	}
	if m := most.Load(); m < 2 || m > 4 {
		t.Errorf("%d requests in flight at most, want 2..4 (different objects concurrently, bounded)", m)
	}
}

func TestBatchStopsOnlyTheObjectThatFailed(t *testing.T) {
	f := startFake(t, func(req request) (int, string) {
		switch objectOf(req) {
		case "h!gone":
			return 404, `{"error":404,"status":"No objects found."}`
		case "h!behind":
			return 200, `{"results":[{"code":200,"status":"Ignoring passive check result for unreachable object 'h!behind'."}]}`
		}
		return okAnswer(req)
	})
	c := f.client(t, nil)
	t0 := time.Unix(1_800_000_000, 0)
	var rs []CheckResult
	for i := range 3 {
		for _, svc := range []string{"ok", "gone", "behind"} {
			rs = append(rs, CheckResult{Host: "h", Service: svc, Output: "x", ExecutionStart: t0.Add(time.Duration(i) * time.Second)})
		}
	}
	out := c.SendBatch(context.Background(), rs)
	for i, err := range out {
		var want error
		switch svc := rs[i].Service; {
		case svc == "gone" && i == 1:
			want = ErrUnknownObject
		case svc == "gone":
			want = ErrNotSent
		case svc == "behind":
			want = ErrUnreachable // ignored by Icinga, but later results are still sent
		}
		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			t.Errorf("result %d (%s): %v, want %v", i, rs[i].Object(), err, want)
		}
	}
	if n := Acknowledged(out); n != 1 {
		t.Errorf("acknowledged %d, want 1 (up to the unknown object)", n)
	}
	sentGone := 0
	for _, r := range f.requests() {
		if objectOf(r) == "h!gone" {
			sentGone++
		}
	}
	if sentGone != 1 {
		t.Errorf("%d results sent for the unknown object, want 1", sentGone)
	}
}

func TestBatchStopsOnUnauthorized(t *testing.T) {
	f := startFake(t, func(request) (int, string) {
		return 401, `{"error":401,"status":"Unauthorized. Please check your user credentials."}`
	})
	c := f.client(t, func(cfg *Config) { cfg.MaxConcurrency = 2 })
	rs := interleaved(time.Unix(1_800_000_000, 0), 50, 4)
	out := c.SendBatch(context.Background(), rs)
	unauthorized, notSent := 0, 0
	for _, err := range out {
		switch {
		case errors.Is(err, ErrNotSent):
			notSent++
		case errors.Is(err, ErrUnauthorized):
			unauthorized++
		default:
			t.Fatalf("unexpected outcome %v", err)
		}
	}
	// Only requests already on their way when the first 401 came back.
	if unauthorized < 1 || unauthorized > 2 || len(f.requests()) != unauthorized || notSent != len(rs)-unauthorized {
		t.Fatalf("%d unauthorized, %d not sent, %d requests: the batch did not stop", unauthorized, notSent, len(f.requests()))
	}
	if Acknowledged(out) != 0 {
		t.Fatal("nothing may be acknowledged")
	}
}

func TestBatchWithCancelledContextSendsNothing(t *testing.T) {
	f := startFake(t, okAnswer)
	c := f.client(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := c.SendBatch(ctx, interleaved(time.Now(), 3, 3))
	for i, err := range out {
		if !errors.Is(err, ErrNotSent) || !Retryable(err) {
			t.Errorf("result %d: %v, want retryable ErrNotSent", i, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("%d requests sent after cancel", n)
	}
	if out := c.SendBatch(context.Background(), nil); len(out) != 0 {
		t.Fatalf("empty batch: %v", out)
	}
}

func TestAcknowledged(t *testing.T) {
	unreachable := &ReplyError{Kind: ErrUnreachable}
	for _, tc := range []struct {
		out  []error
		want int
	}{
		{nil, 0},
		{[]error{nil, nil}, 2},
		{[]error{nil, unreachable, ErrOutdated, nil}, 4},
		{[]error{nil, ErrUnavailable, nil}, 1},
		{[]error{&ReplyError{Kind: ErrUnknownObject}, nil}, 0},
	} {
		if got := Acknowledged(tc.out); got != tc.want {
			t.Errorf("Acknowledged(%v) = %d, want %d", tc.out, got, tc.want)
		}
	}
}
