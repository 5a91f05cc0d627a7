package poller

import (
	"fmt"
	"slices"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// CheckStatus is what the poller knows of one check, for `picket status`.
type CheckStatus struct {
	Key  check.Key
	Next time.Time // next due time; zero while it runs or waits
	// Of the last completed run:
	LastStart    time.Time
	LastDuration time.Duration
	LastState    check.State
	LastOutput   string
	Runs         uint64 // completed since the check was applied
	Skipped      uint64 // due times passed while the previous run was not done
	Late         uint64 // runs started more than a second after their due time
	Attempt      int    // consecutive non-OK results, as Nagios' current attempt
	Running      bool
}

// Checks returns the status of every scheduled check, in key order.
func (p *Poller) Checks() []CheckStatus {
	p.mu.Lock()
	running, done := p.running, p.runDone
	p.mu.Unlock()
	if running {
		// The loop owns the due times; it publishes them when asked.
		reply := make(chan struct{})
		select {
		case p.snap <- reply:
			<-reply
		case <-done:
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]CheckStatus, 0, len(p.status))
	for _, s := range p.status {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b CheckStatus) int {
		if a.Key.Host != b.Key.Host {
			return cmpString(a.Key.Host, b.Key.Host)
		}
		return cmpString(a.Key.Service, b.Key.Service)
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// RunNow makes the checks named run at once (each unless it is running or
// waiting already), then go on with their schedule. It returns an error
// naming the keys it does not schedule.
func (p *Poller) RunNow(keys []check.Key) error {
	p.mu.Lock()
	var missing []string
	for _, k := range keys {
		if _, ok := p.status[k]; !ok {
			missing = append(missing, k.String())
		}
	}
	if len(missing) == 0 {
		p.now = append(p.now, keys...)
	}
	p.mu.Unlock()
	if len(missing) > 0 {
		return fmt.Errorf("no check %v is scheduled", missing)
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}
