package spooler

import (
	"context"
	"fmt"

	"github.com/picket-monitoring/picket/internal/check"
)

// maxInbox bounds what SendNow keeps per group while no target takes it.
const maxInbox = 64

// SendNow hands r to every group to send ahead of the Log, without storing
// it: for the agent's own results when the spool cannot store them (a full
// disk), so that Nagios still learns that results are being lost. It is
// kept in memory only, the newest per host and service, until a target
// takes it; a result older than one already sent for its service is
// dropped, as from the Log. It never blocks.
func (s *Spooler) SendNow(r check.Result) error {
	if err := sendable(r); err != nil {
		return fmt.Errorf("send now %s: %w", key(r), err)
	}
	it := item{res: r, checked: r.CheckTime}
	for _, g := range *s.live.Load() {
		g.inboxMu.Lock()
		g.inbox = putInbox(g.inbox, it)
		g.inboxMu.Unlock()
	}
	s.Wake()
	return nil
}

// putInbox replaces the item of it's service, or appends it, within
// maxInbox.
func putInbox(inbox []item, it item) []item {
	for i := range inbox {
		if inbox[i].key() == it.key() {
			inbox[i] = it
			return inbox
		}
	}
	if len(inbox) >= maxInbox {
		inbox = inbox[1:]
	}
	return append(inbox, it)
}

// sendInbox sends what SendNow handed the group to the first target that
// takes it. No cursor covers it: what no target takes now waits, in
// memory, for the next pass. The caller holds the group's turn.
func (g *group) sendInbox(ctx context.Context, tried map[*target]bool) {
	g.inboxMu.Lock()
	items := g.inbox
	g.inbox = nil
	g.inboxMu.Unlock()
	items = g.notStale(items)
	for len(items) > 0 {
		t := g.pick(tried)
		if t == nil {
			break
		}
		now := g.cfg.now()
		ps := make([]Item, len(items))
		for i := range items {
			ps[i] = g.toItem(&items[i], now)
		}
		bctx, cancel := context.WithTimeout(ctx, g.cfg.timeout)
		n, _, err := send(bctx, t, ps)
		cancel()
		g.refusals(t, ps[:n])
		for _, it := range items[:n] {
			g.newest[it.key()] = it.checked
			g.sentState[it.key()] = it.res.State
		}
		g.countSent(t, n)
		items = items[n:]
		if err == nil {
			g.succeeded(t, len(ps))
			break
		}
		if ctx.Err() != nil {
			break
		}
		g.failed(t, err)
		if tried != nil {
			tried[t] = true
		}
	}
	if len(items) > 0 {
		g.inboxMu.Lock()
		for _, it := range g.inbox { // handed over meanwhile: newer
			items = putInbox(items, it)
		}
		g.inbox = items
		g.inboxMu.Unlock()
	}
}

// notStale drops items older than what was already sent for their service.
func (g *group) notStale(items []item) []item {
	out := items[:0]
	for _, it := range items {
		if n, ok := g.newest[it.key()]; ok && !it.checked.After(n) {
			continue
		}
		out = append(out, it)
	}
	return out
}
