package spooler

import "time"

// Stats is a snapshot of every group, for logs and the agent's own health
// service. Counters run from New.
type Stats struct {
	Groups []GroupStats // in the order of the targets' first appearance
}

// GroupStats describes one group: one cursor, one failover chain.
type GroupStats struct {
	Cursor string
	// Active names the target the last batch went to; "" once every
	// target is down.
	Active string
	// Committed is the cursor's position as last committed.
	Committed uint64

	Sent uint64
	// Reduced counts old records the replay policy left out.
	Reduced uint64
	// Stale counts records not sent because a result of the same host and
	// service with a later check time had already been sent.
	Stale uint64
	// Undecodable counts records the codec refused (logged, skipped).
	Undecodable uint64
	// Invalid counts records that decode but cannot be an NSCA packet: a
	// host or service name longer than NSCA allows (logged, skipped).
	Invalid uint64
	// Refused counts results a target refused for good (an object Icinga
	// does not know): not sent again.
	Refused uint64
	// Unchanged counts results of send-on-change checks left out because
	// they said what the last one sent said, within its heartbeat.
	Unchanged uint64

	LastSuccess time.Time
	LastError   string

	Targets []TargetStats // in failover order
}

// TargetStats describes one target of a group.
type TargetStats struct {
	Name, Address string
	Sent          uint64
	Failures      uint64 // failed batches, dial failures included
	Refused       uint64 // results it refused for good
	// LastRefusal says why it refused the last one.
	LastRefusal string
	// Up is true when the last attempt on the target succeeded; false
	// before the first attempt.
	Up          bool
	LastSuccess time.Time
	LastError   string
	// NextTry is when a target in backoff is tried again; zero when not in
	// backoff.
	NextTry time.Time
	// ClockOffset is the target's clock minus ours, as its last connection
	// showed it; ClockKnown says whether one did (NSCA's init packet does).
	ClockOffset time.Duration
	ClockKnown  bool
}

// Stats returns a snapshot. It is safe from any goroutine and never waits
// for a batch.
func (s *Spooler) Stats() Stats {
	groups := *s.live.Load()
	out := Stats{Groups: make([]GroupStats, len(groups))}
	for i, g := range groups {
		g.statsMu.Lock()
		gs := g.stats
		gs.Targets = make([]TargetStats, len(g.targets))
		for j, t := range g.targets {
			gs.Targets[j] = t.stats
			gs.Targets[j].ClockOffset, gs.Targets[j].ClockKnown = time.Duration(t.offset.Load()), t.offsetKnown.Load()
		}
		g.statsMu.Unlock()
		out.Groups[i] = gs
	}
	return out
}
