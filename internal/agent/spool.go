package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/picket-monitoring/picket/icinga2"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/nsca"
	"github.com/picket-monitoring/picket/spooler"
)

// OpenSpool opens the spool a config names, writable unless readOnly.
// `picket spool` uses it too, so both agree on the limits.
func OpenSpool(cfg *config.Config, logger *slog.Logger, readOnly bool) (*spool.Spool, error) {
	s, err := spool.Open(cfg.SpoolDir, spool.Options{
		MaxAge:   cfg.Spool.MaxAge.Duration,
		MaxBytes: int64(cfg.Spool.MaxBytes),
		Logger:   logger,
		ReadOnly: readOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return s, nil
}

// syncCursors gives every configured group its cursor. A new group's
// cursor is created at the start of the spool (it gets everything still
// held) right away, not at its first send, so that results dropped before a
// target ever answered are counted for it.
//
// The cursors of groups no longer configured stay: a target that leaves
// the config and comes back (a config management run that wrote a broken
// file, then the right one) resumes where it stood, neither losing what it
// had not received nor receiving again what it had. pruneCursors removes
// them once that no longer matters.
func syncCursors(s *spool.Spool, targets []config.Target, logger *slog.Logger) {
	have := map[string]bool{}
	for _, c := range s.Cursors() {
		have[c] = true
	}
	for _, t := range targets {
		c := t.Cursor()
		if have[c] {
			continue
		}
		if err := s.Commit(c, 0); err != nil {
			logger.Error("cannot create the spool cursor of a target", "cursor", c, "err", err)
		}
		have[c] = true
	}
}

// pruneCursors removes the cursor of a group no longer configured once the
// spool holds nothing it had already read: a cursor created anew for that
// group would then start exactly where the old one stands, so keeping it
// only keeps the spool from collecting what the configured targets have
// sent. Until then it stays, in case the group comes back.
func pruneCursors(s *spool.Spool, targets []config.Target, logger *slog.Logger) {
	want := map[string]bool{}
	for _, t := range targets {
		want[t.Cursor()] = true
	}
	st := s.Stats()
	for name, cs := range st.Cursors {
		if want[name] || (st.FirstSeq != 0 && st.FirstSeq <= cs.Position) {
			continue
		}
		if err := s.RemoveCursor(name); err != nil {
			logger.Error("cannot remove the spool cursor of a target no longer configured", "cursor", name, "err", err)
			continue
		}
		logger.Info("spool cursor of a target no longer configured removed: the spool holds nothing it had read, so if the target comes back it starts from the oldest result held, as it would have",
			"cursor", name, "unsent", cs.Pending, "dropped_unsent", drops(cs.Dropped))
	}
}

// spoolSink is the poller's sink: every result is encoded and appended to
// the spool, and Put returns only once it is on disk. A state change wakes
// the senders at once instead of at the next flush, so a problem reaches
// Nagios in well under the flush interval.
//
// A result the spool refuses is lost: lost hears of each one, and until a
// store succeeds again, failing says why.
type spoolSink struct {
	spool *spool.Spool
	wake  func()
	lost  func(check.Result, error)

	mu      sync.Mutex
	last    map[check.Key]check.State
	failing error
	bufs    sync.Pool
}

func newSpoolSink(s *spool.Spool, wake func(), lost func(check.Result, error)) *spoolSink {
	return &spoolSink{spool: s, wake: wake, lost: lost, last: map[check.Key]check.State{},
		bufs: sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}}
}

// storeErr is why the last store failed, or nil once one succeeded after.
func (s *spoolSink) storeErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failing
}

func (s *spoolSink) Put(ctx context.Context, r check.Result) error {
	err := s.store(ctx, r)
	if err != nil {
		s.lost(r, err)
	}
	return err
}

// store appends r; unlike Put it leaves a failure to the caller to count.
func (s *spoolSink) store(ctx context.Context, r check.Result) error {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	b, err := r.AppendBinary((*bp)[:0])
	if err != nil {
		return err
	}
	*bp = b
	// Append returns once the record is durable, so the buffer is free
	// again afterwards.
	if _, err := s.spool.Append(ctx, b); err != nil {
		s.mu.Lock()
		s.failing = err
		s.mu.Unlock()
		return fmt.Errorf("spool %s/%s: %w", r.Host, r.Service, err)
	}
	k := check.Key{Host: r.Host, Service: r.Service}
	s.mu.Lock()
	s.failing = nil
	prev, seen := s.last[k]
	s.last[k] = r.State
	s.mu.Unlock()
	if seen && prev != r.State {
		s.wake()
	}
	return nil
}

// forget drops the state of checks no longer configured, so the map does
// not grow with every check ever run.
func (s *spoolSink) forget(keep []check.Check) {
	live := make(map[check.Key]bool, len(keep))
	for _, c := range keep {
		live[check.Key{Host: c.Host, Service: c.Service}] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.last {
		if !live[k] {
			delete(s.last, k)
		}
	}
}

// spoolerOptions is what the senders need of cfg: its targets, each with
// its password read once, and the spool's sending settings. Log, Logger,
// TTL and Refused are the caller's to add.
func spoolerOptions(cfg *config.Config) (spooler.Options, error) {
	o := spooler.Options{
		FlushInterval: cfg.Spool.FlushInterval.Duration,
		ReplayWindow:  cfg.Spool.ReplayWindow.Duration,
	}
	for _, t := range cfg.Targets {
		d, err := dialer(cfg, t)
		if err != nil {
			return o, fmt.Errorf("target %s: %w", t.Address, err)
		}
		o.Targets = append(o.Targets, spooler.Target{
			Name:        t.Address,
			Address:     t.Address,
			Group:       t.Cursor(),
			Dialer:      d,
			Fingerprint: t.Fingerprint(),
		})
	}
	return o, nil
}

// dialer makes the sender of t's kind.
func dialer(cfg *config.Config, t config.Target) (spooler.Dialer, error) {
	pw, err := t.Password()
	if err != nil {
		return nil, err
	}
	if t.Kind != config.KindIcinga2 {
		return spooler.NSCA(&nsca.Dialer{Method: t.Method, Password: pw, Legacy: t.Legacy, Timeout: t.Timeout.Duration}), nil
	}
	c, err := icinga2.New(icinga2.Config{URL: t.URL, User: t.User, Password: string(pw), CertFile: t.CertFile,
		KeyFile: t.KeyFile, CAFile: t.CAFile, ServerName: t.ServerName, Timeout: t.Timeout.Duration})
	if err != nil {
		return nil, err
	}
	return spooler.Icinga2(c, cfg.Hostname), nil
}
