package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/spooler"
)

// senders owns the running spooler, so that a reload can replace it with
// one for new targets while the poller keeps appending to the spool. With
// no target there is no spooler: results wait in the spool, and the first
// target a reload adds starts from the oldest of them.
type senders struct {
	spool  *spool.Spool
	logger *slog.Logger

	cur    atomic.Pointer[spooler.Spooler]
	mu     sync.Mutex // serialises start, restart and stop
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *senders) start(ctx context.Context, cfg *config.Config) error {
	if len(cfg.Targets) == 0 {
		return nil
	}
	sp, err := newSpooler(cfg, s.spool, s.logger)
	if err != nil {
		return err
	}
	s.launch(ctx, sp, cfg)
	return nil
}

func (s *senders) launch(ctx context.Context, sp *spooler.Spooler, cfg *config.Config) {
	syncCursors(s.spool, cfg.Targets, s.logger)
	if sp == nil {
		s.cur.Store(nil)
		s.cancel, s.done = nil, nil
		return
	}
	// The senders outlive ctx: they stop after the poller, when
	// stopAndFlush says so.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := sp.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			s.logger.Error("spooler stopped", "err", err)
		}
	}()
	s.cur.Store(sp)
	s.cancel, s.done = cancel, done
}

// restart replaces the spooler with one for cfg's targets. The old one is
// stopped first, so no two senders ever share a cursor.
func (s *senders) restart(ctx context.Context, cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sp *spooler.Spooler
	if len(cfg.Targets) > 0 {
		var err error
		if sp, err = newSpooler(cfg, s.spool, s.logger); err != nil {
			return err
		}
	}
	s.stop()
	s.launch(ctx, sp, cfg)
	return nil
}

// stop ends the running spooler, if any; the caller holds mu.
func (s *senders) stop() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
}

func (s *senders) wake() {
	if sp := s.cur.Load(); sp != nil {
		sp.Wake()
	}
}

// stats is the zero Stats while there is no target.
func (s *senders) stats() spooler.Stats {
	if sp := s.cur.Load(); sp != nil {
		return sp.Stats()
	}
	return spooler.Stats{}
}

// stopAndFlush stops the senders, then makes one last pass to send what the
// poller handed over on its way out, until ctx ends.
func (s *senders) stopAndFlush(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
	sp := s.cur.Load()
	if sp == nil {
		return
	}
	if err := sp.Flush(ctx); err != nil {
		s.logger.Warn("results not sent before stopping; they stay in the spool for the next start", "err", err)
	}
}
