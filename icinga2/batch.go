package icinga2

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// SendBatch delivers results and returns one outcome per result, in the
// same order: nil when Icinga answered 200 for it.
//
// Results for different objects are sent concurrently (at most
// Config.MaxConcurrency requests at a time, over kept-alive connections);
// those for one object one after another, in the order given, and one older
// than a result already delivered for that object is not sent
// (ErrOutdated), so Icinga never receives an older result after a newer
// one. When a result fails, the later results for its object are not sent
// (ErrNotSent), since sending them would make a resend of the failed one
// older than what Icinga has; outdated and unreachable results do not stop
// their object. A failure that concerns the API rather than one object
// (401, TLS, no reply, 5xx) stops the whole batch: the requests in flight
// finish, nothing more is sent. A cancelled ctx stops it the same way.
func (c *Client) SendBatch(ctx context.Context, results []CheckResult) []error {
	b := &batch{c: c, results: results, out: make([]error, len(results))}
	groups := groupByObject(results)
	work := make(chan []int)
	var wg sync.WaitGroup
	for range min(len(groups), cap(c.sem)) {
		wg.Go(func() {
			for g := range work {
				b.sendGroup(ctx, g)
			}
		})
	}
feed:
	for gi, g := range groups {
		if reason := b.stopReason(ctx); reason != nil {
			b.notSent(groups[gi:], reason)
			break
		}
		select {
		case work <- g:
		case <-ctx.Done():
			b.notSent(groups[gi:], context.Cause(ctx))
			break feed
		}
	}
	close(work)
	wg.Wait()
	return b.out
}

// groupByObject returns the indexes of results per object, objects in the
// order of their first result, each object's indexes in order.
func groupByObject(results []CheckResult) [][]int {
	var groups [][]int
	at := map[string]int{}
	for i, r := range results {
		g, ok := at[r.Object()]
		if !ok {
			g = len(groups)
			at[r.Object()] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// batch is one SendBatch call. Each index of out is written by one
// goroutine only: the worker that got its object, or the feeder for
// objects no worker got.
type batch struct {
	c       *Client
	results []CheckResult
	out     []error

	mu      sync.Mutex
	stopped error // why the batch stopped, or nil
}

func (b *batch) sendGroup(ctx context.Context, g []int) {
	for j, i := range g {
		if reason := b.stopReason(ctx); reason != nil {
			b.notSent([][]int{g[j:]}, reason)
			return
		}
		err := b.c.ProcessCheckResult(ctx, b.results[i])
		b.out[i] = err
		switch {
		case err == nil, errors.Is(err, ErrOutdated), errors.Is(err, ErrUnreachable):
			continue
		case errors.Is(err, ErrUnknownObject), errors.Is(err, ErrBadRequest), errors.Is(err, ErrInvalid):
			b.notSent([][]int{g[j+1:]}, fmt.Errorf("an earlier result for %s failed: %w", b.results[i].Object(), err))
		default:
			b.stop(err)
			b.notSent([][]int{g[j+1:]}, err)
		}
		return
	}
}

func (b *batch) stop(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped == nil {
		b.stopped = fmt.Errorf("batch stopped: %v", err)
	}
}

func (b *batch) stopReason(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopped
}

func (b *batch) notSent(groups [][]int, reason error) {
	for _, g := range groups {
		for _, i := range g {
			// The reason is wrapped too, so a caller can tell "not sent, as
			// the object is unknown" from "not sent, as the API failed".
			b.out[i] = fmt.Errorf("icinga2: %s: %w: %w", b.results[i].Object(), ErrNotSent, reason)
		}
	}
}

// Acknowledged is how many outcomes, from the first, Icinga has answered
// for good: delivered (nil), or ignored by design and not worth resending
// (ErrUnreachable, ErrOutdated). A cursor may advance over that many
// results; everything after the first other outcome must be sent again,
// oldest first.
func Acknowledged(outcomes []error) int {
	for i, err := range outcomes {
		if err != nil && !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrOutdated) {
			return i
		}
	}
	return len(outcomes)
}
