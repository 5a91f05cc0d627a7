package agent

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/atomicfile"
	"github.com/picket-monitoring/picket/internal/spool"
)

// The ledger's files, in state_dir.
const (
	lossFile = "losses.json"
	// AckFile holds the time up to which an administrator has seen the
	// losses (`picket spool ack` writes it).
	AckFile = "losses.ack"
)

// mergeWindow joins a loss to the previous one of the same reason and
// target when it comes this soon after it: a full disk loses a result at
// every run, and one line "2,190 results not stored, 10:02 to 10:40" says
// more than 2,190 lines.
const mergeWindow = 10 * time.Minute

// maxLossEvents bounds the ledger; the oldest events go first.
const maxLossEvents = 200

// LossEvent is a run of results lost for one reason.
type LossEvent struct {
	// Reason says why, in words an administrator acts on.
	Reason string `json:"reason"`
	// Target is the spool cursor of the target group that did not get
	// them; "" when no target did (they were never stored).
	Target  string `json:"target,omitempty"`
	Results uint64 `json:"results"`
	// From and To bound when the lost results were checked (or spooled);
	// zero when not known (a damaged file).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// First and Last are when the first and the last of them were lost.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// lossLedger remembers every result the agent lost, for any reason: the
// spool's retention and repairs (from its journal) and results that could
// not be stored at all (a full disk). picket_spooler is CRITICAL while a
// loss is newer than [health] loss_alert and newer than the time in
// AckFile. The ledger lives in state_dir, so a restart neither forgets a
// loss nor reports one twice, and a repair at start is reported like any
// other loss.
type lossLedger struct {
	dir string

	mu        sync.Mutex
	events    []LossEvent
	spoolNext int  // the spool journal's events read so far
	dirty     bool // changed since the last save
}

func openLossLedger(stateDir string) *lossLedger {
	l := &lossLedger{dir: stateDir}
	if b, err := os.ReadFile(filepath.Join(stateDir, lossFile)); err == nil {
		_ = json.Unmarshal(b, &l.events) // a damaged ledger starts afresh
	}
	return l
}

// LoadLosses reads the ledger of stateDir and the time up to which its
// losses were acknowledged, for `picket spool ack` and `picket status`.
func LoadLosses(stateDir string) (events []LossEvent, acked time.Time, err error) {
	b, err := os.ReadFile(filepath.Join(stateDir, lossFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, fmt.Errorf("read the loss ledger: %w", err)
	}
	if err == nil {
		if err := json.Unmarshal(b, &events); err != nil {
			return nil, time.Time{}, fmt.Errorf("read the loss ledger %s: %w", filepath.Join(stateDir, lossFile), err)
		}
	}
	return events, ackedUntil(stateDir), nil
}

// Acknowledge records that an administrator has seen every loss up to at.
func Acknowledge(stateDir string, at time.Time) error {
	return atomicfile.Write(filepath.Join(stateDir, AckFile), []byte(at.UTC().Format(time.RFC3339Nano)+"\n"), atomicfile.Options{Perm: 0o600})
}

func ackedUntil(stateDir string) time.Time {
	b, err := os.ReadFile(filepath.Join(stateDir, AckFile))
	if err != nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	return t
}

// absorb takes the spool's new loss events, counting for each target group
// in live the results it had not received.
func (l *lossLedger) absorb(sp *spool.Spool, live map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	events, next, missed := sp.Losses(l.spoolNext)
	l.spoolNext = next
	for _, e := range events {
		for cursor, n := range e.Cursors {
			if live[cursor] {
				l.addLocked(LossEvent{Reason: spoolReason(e.Reason), Target: cursor, Results: n, From: e.From, To: e.To, First: e.At, Last: e.At})
			}
		}
	}
	if missed > 0 {
		l.addLocked(LossEvent{Reason: "spool losses not counted: the journal overflowed", Results: uint64(missed), First: time.Now(), Last: time.Now()})
	}
}

func spoolReason(r string) string {
	switch r {
	case "age":
		return "older than spool.max_age"
	case "bytes":
		return "spool over spool.max_bytes"
	case "corrupt":
		return "damaged on disk, cut when the spool was repaired"
	}
	return "dropped by the spool (" + r + ")"
}

// notStored counts a result the spool refused to store.
func (l *lossLedger) notStored(err error, checked, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(LossEvent{Reason: "not stored: " + storeProblem(err), Results: 1, From: checked, To: checked, First: now, Last: now})
}

// storeProblem names why a store failed, in the words of the fix.
func storeProblem(err error) string {
	switch {
	case diskFull(err):
		return "disk full"
	case errors.Is(err, fs.ErrPermission):
		return "no permission to write the spool"
	}
	return err.Error()
}

// addLocked merges e into the last event of the same reason and target
// when it is recent enough, else appends it.
func (l *lossLedger) addLocked(e LossEvent) {
	l.dirty = true
	for i := len(l.events) - 1; i >= 0; i-- {
		p := &l.events[i]
		if p.Reason != e.Reason || p.Target != e.Target {
			continue
		}
		if e.First.Sub(p.Last) <= mergeWindow {
			p.Results += e.Results
			p.From, p.To = earlier(p.From, e.From), later(p.To, e.To)
			p.Last = later(p.Last, e.Last)
			return
		}
		break
	}
	l.events = append(l.events, e)
	if len(l.events) > maxLossEvents {
		l.events = slices.Delete(l.events, 0, len(l.events)-maxLossEvents)
	}
}

// active returns the losses an administrator has not seen yet: newer than
// hold and than the acknowledgement.
func (l *lossLedger) active(now time.Time, hold time.Duration) []LossEvent {
	acked := ackedUntil(l.dir)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LossEvent
	for _, e := range l.events {
		if e.Last.After(acked) && now.Sub(e.Last) < hold {
			out = append(out, e)
		}
	}
	return out
}

// save writes the ledger, without the events older than hold, which no
// report needs any more.
func (l *lossLedger) save(now time.Time, hold time.Duration) error {
	l.mu.Lock()
	n := len(l.events)
	l.events = slices.DeleteFunc(l.events, func(e LossEvent) bool { return now.Sub(e.Last) >= hold })
	if !l.dirty && len(l.events) == n {
		l.mu.Unlock()
		return nil
	}
	l.dirty = false
	b, err := json.MarshalIndent(l.events, "", "  ")
	l.mu.Unlock()
	if err != nil {
		return err
	}
	err = os.MkdirAll(l.dir, 0o700)
	if err == nil {
		err = atomicfile.Write(filepath.Join(l.dir, lossFile), append(b, '\n'), atomicfile.Options{Perm: 0o600})
	}
	if err != nil {
		l.mu.Lock()
		l.dirty = true // try again at the next report
		l.mu.Unlock()
		return fmt.Errorf("save the loss ledger: %w", err)
	}
	return nil
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// describeLosses is the part of picket_spooler's output about losses.
func describeLosses(events []LossEvent, names map[string]string) (total uint64, text string) {
	var parts []string
	for _, e := range events {
		total += e.Results
		who := "every target"
		if e.Target != "" {
			who = cmp.Or(names[e.Target], e.Target)
		}
		when := ""
		if !e.From.IsZero() {
			when = ", checked " + timeRange(e.From, e.To)
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s%s)", e.Results, e.Reason, who, when))
	}
	return total, strings.Join(parts, "; ")
}

func timeRange(from, to time.Time) string {
	layout := "2006-01-02 15:04:05Z"
	f, t := from.UTC().Format(layout), to.UTC().Format(layout)
	if f[:10] == t[:10] {
		t = t[11:]
	}
	if f == t {
		return f
	}
	return f + " to " + t
}
