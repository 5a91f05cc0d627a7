package builtin

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Shared is an OS for many checks evaluated in one process (watches): the
// process table, which every procs check reads whole, is read once for all
// of them within MaxAge, so a hundred process watches cost one scan of
// /proc a round instead of a hundred. Everything else is System's.
type Shared struct {
	System
	// MaxAge is how old a process table may be when a check asks for it;
	// zero reads it every time.
	MaxAge time.Duration

	mu    sync.Mutex
	procs []Process
	at    time.Time
}

// Processes returns the process table, read at most MaxAge ago.
func (s *Shared) Processes(ctx context.Context) ([]Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.MaxAge > 0 && s.procs != nil && time.Since(s.at) < s.MaxAge {
		return slices.Clone(s.procs), nil
	}
	ps, err := s.System.Processes(ctx)
	if err != nil {
		return nil, err
	}
	s.procs, s.at = ps, time.Now()
	return slices.Clone(ps), nil
}
