package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrLocked means another Spool, in this process or another, has the
	// directory open for writing.
	ErrLocked = errors.New("spool is locked by another writer")
	// ErrClosed is returned by calls on a closed Spool.
	ErrClosed = errors.New("spool is closed")

	errReadOnly = errors.New("spool is open read-only")
)

const (
	DefaultMaxAge   = 24 * time.Hour
	DefaultMaxBytes = 256 << 20

	maxSegmentSize = 8 << 20
	minSegmentSize = 64 << 10

	// maxGroupBytes bounds one group commit, so one burst of large
	// records cannot make the committer hold an unbounded buffer.
	maxGroupBytes = 4 << 20

	maintainEvery = time.Minute

	// gatherWait bounds how long the committer holds a group open for
	// callers already inside Append: about one sync, so a group waits at
	// most as long as the sync it saves.
	gatherWait = 200 * time.Microsecond
)

// Options tune a Spool; the zero value gives the defaults.
type Options struct {
	MaxAge   time.Duration    // 0: DefaultMaxAge; older records are dropped
	MaxBytes int64            // 0: DefaultMaxBytes; total size of the segment files
	Logger   *slog.Logger     // nil: discard
	Now      func() time.Time // nil: time.Now; tests inject a clock for retention
	// ReadOnly opens the spool beside a running writer, for inspection:
	// no lock, no repair, no retention that touches files, no writes.
	// Append, Commit, RemoveCursor and Purge return an error.
	ReadOnly bool
}

// Record is one appended record as Read returns it.
type Record struct {
	Seq  uint64    // 1-based, strictly increasing, never reused
	Time time.Time // when it was appended
	Data []byte    // a copy of its own: safe to keep and to modify
}

// Drops counts records dropped before they were read, by reason.
type Drops struct{ Age, Bytes, Corrupt uint64 }

func (d *Drops) add(r dropReason, n uint64) {
	switch r {
	case dropAge:
		d.Age += n
	case dropBytes:
		d.Bytes += n
	case dropCorrupt:
		d.Corrupt += n
	}
}

// Stats is a snapshot of a spool.
type Stats struct {
	Records  uint64 // retained: neither dropped nor collected
	Bytes    int64  // total size of the segment files
	FirstSeq uint64 // the oldest retained record; 0 when none is retained
	LastSeq  uint64 // the newest record ever appended, retained or not
	Oldest   time.Time
	Cursors  map[string]CursorStats
	// Dropped counts records dropped since Open, whether or not any
	// cursor still wanted them.
	Dropped Drops
}

// CursorStats describes one cursor.
type CursorStats struct {
	Position uint64    // last consumed seq
	Pending  uint64    // retained records after Position
	Oldest   time.Time // Time of the first pending record; zero if none
	// Dropped counts records this cursor never read because retention
	// or corruption removed them, since the cursor was created.
	Dropped Drops
}

// Spool is an open spool directory. All methods are safe for concurrent
// use.
type Spool struct {
	dir      string
	ro       bool
	maxAge   time.Duration
	maxBytes int64
	segSize  int64
	log      *slog.Logger
	now      func() time.Time
	unlock   func() error

	// metaMu serialises every change to files other than the tail of
	// the active segment: cursor files, segment deletion. Taken before mu.
	metaMu sync.Mutex

	mu      sync.Mutex
	segs    []*segment // oldest first; the last one is the active one
	nextSeq uint64
	// floor: every record with seq <= floor has been dropped by retention.
	floor uint64
	// expiryBound is at most the earliest Time of any record above the
	// floor, so a cutoff at or below it means nothing has expired.
	expiryBound int64
	bytes       int64
	cursors     map[string]*cursor
	dropped     Drops
	closed      bool
	// losses is the journal of loss events since Open; lossBase counts
	// the events it no longer holds.
	losses   []Loss
	lossBase int

	qmu      sync.Mutex
	queue    []*appendReq
	closing  bool
	inAppend atomic.Int64 // callers inside Append

	kick      chan struct{}
	maintKick chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	// Owned by the committer goroutine.
	active *os.File
	broken error
	batch  []*appendReq
	buf    []byte
	offs   []int64
}

// segmentSize is where a segment is rolled: small enough that dropping one
// whole segment for MaxBytes frees at most a sixteenth of the budget.
func segmentSize(maxBytes int64) int64 {
	return max(min(maxSegmentSize, maxBytes/16), minSegmentSize)
}

// Open opens the spool in dir, creating dir (0700) if it is missing.
//
// A writable Open takes an exclusive lock on dir/lock; while another
// writer holds it, Open fails with an error wrapping ErrLocked that names
// the holder's pid. It then repairs what a crash can leave behind: a torn
// or corrupt tail of the newest segment is cut at the last good frame, and
// a damaged frame in an older segment loses the rest of that segment (its
// records are counted as dropped with reason corrupt). Each repair is
// logged at Warn. Open fails only for I/O and permission errors, and for a
// segment written by a newer, incompatible format version, which it
// leaves untouched.
func Open(dir string, o Options) (*Spool, error) {
	if o.MaxAge < 0 || o.MaxBytes < 0 {
		return nil, fmt.Errorf("open spool %s: MaxAge and MaxBytes must not be negative", dir)
	}
	s := &Spool{
		dir:         dir,
		ro:          o.ReadOnly,
		maxAge:      o.MaxAge,
		maxBytes:    o.MaxBytes,
		log:         o.Logger,
		now:         o.Now,
		unlock:      func() error { return nil },
		cursors:     map[string]*cursor{},
		nextSeq:     1,
		kick:        make(chan struct{}, 1),
		maintKick:   make(chan struct{}, 1),
		stop:        make(chan struct{}),
		expiryBound: maxTime,
	}
	if s.maxAge == 0 {
		s.maxAge = DefaultMaxAge
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultMaxBytes
	}
	s.segSize = segmentSize(s.maxBytes)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ro {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("open spool %s read-only: %w", dir, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("open spool %s read-only: not a directory: %w", dir, fs.ErrInvalid)
		}
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open spool: %w", err)
		}
		unlock, err := lockDir(dir)
		if err != nil {
			return nil, err
		}
		s.unlock = unlock
	}
	if err := s.load(); err != nil {
		if s.active != nil {
			s.active.Close()
		}
		s.unlock()
		return nil, err
	}
	if !s.ro {
		s.wg.Add(2)
		go s.commitLoop()
		go s.maintainLoop()
	}
	return s, nil
}

// Close lets the committer write every record whose Append began before
// Close, stops the background work, persists cursor drop counts, syncs
// and closes the active segment and releases the lock. Calls after Close
// return ErrClosed.
func (s *Spool) Close() error {
	s.closeOnce.Do(func() {
		s.qmu.Lock()
		s.closing = true
		s.qmu.Unlock()
		close(s.stop)
		s.wg.Wait()

		var errs []error
		if !s.ro {
			s.metaMu.Lock()
			errs = append(errs, s.flushCursors())
			s.metaMu.Unlock()
		}
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		if s.active != nil {
			if err := s.active.Sync(); err != nil {
				errs = append(errs, fmt.Errorf("close spool %s: sync %s: %w", s.dir, s.active.Name(), err))
			}
			errs = append(errs, s.active.Close())
		}
		if s.broken != nil {
			errs = append(errs, s.broken)
		}
		errs = append(errs, s.unlock())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Spool) readOnlyErr(op string) error {
	return fmt.Errorf("%s in spool %s: %w", op, s.dir, errReadOnly)
}
