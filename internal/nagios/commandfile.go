package nagios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"
)

// pipeBuf is POSIX PIPE_BUF on Linux: the kernel never interleaves a write
// of at most this many bytes to a pipe with other writers' data.
const pipeBuf = 4096

var (
	// ErrNoReader means the command file is a FIFO that no process has open
	// for reading, or whose reader closed it while we wrote. With Nagios'
	// nagios.cmd that means Nagios is not running or is restarting.
	ErrNoReader = errors.New("no process has the command pipe open for reading; Nagios is probably not running")

	// ErrNotTerminated means Write was given bytes that do not end with a
	// newline. Nothing was written: a command without its newline would be
	// glued to whatever the next writer sends.
	ErrNotTerminated = errors.New("commands must end with a newline")

	// ErrClosed means the CommandFile was closed.
	ErrClosed = errors.New("command file closed")
)

// WriteError is the error of every failed Write. Written counts the leading
// bytes of the lines passed to Write that reached the file. When Torn is
// set, Written ends inside a command: that command was cut short, and the
// next Write on the same file terminates the fragment with a newline first so
// that Nagios rejects the fragment instead of a good command glued to it.
type WriteError struct {
	Path    string
	Written int
	Total   int
	Torn    bool
	Err     error
}

func (e *WriteError) Error() string {
	torn := ""
	if e.Torn {
		torn = ", cutting a command short"
	}
	return fmt.Sprintf("nagios command file %s: %v (wrote %d of %d bytes%s)", e.Path, e.Err, e.Written, e.Total, torn)
}

func (e *WriteError) Unwrap() error { return e.Err }

// CommandFileOption configures a CommandFile.
type CommandFileOption func(*CommandFile)

// CreateRegular makes a missing command file be created as a regular file
// (mode 0660 before umask) instead of being an error. Without it a missing
// path is an error: Nagios creates its FIFO when it starts, so a missing
// nagios.cmd means Nagios is not running, and creating a regular file in its
// place would swallow every result and keep Nagios from creating the FIFO.
func CreateRegular() CommandFileOption {
	return func(c *CommandFile) { c.create = true }
}

// CommandFile appends whole external commands to Nagios' command file, which
// is normally a FIFO and may also be a regular file. It opens the path on the
// first Write, keeps the descriptor open, and reopens it after an error. It
// is safe for concurrent use; writes are serialised.
//
// Opening never blocks: a FIFO is opened non-blocking, so a FIFO without a
// reader fails at once with ErrNoReader instead of hanging until Nagios
// starts. The file is always opened for appending. nsca without
// append_to_file opens a regular file with "w", so every result truncates the
// file and overwrites the one before; appending loses nothing, and a write
// with O_APPEND lands whole at the end even when other programs append to the
// same file.
//
// On a FIFO, lines are grouped into writes of at most 4096 bytes (PIPE_BUF)
// that never split a line, so the kernel keeps each write atomic and other
// writers to the pipe (Nagios CGIs, scripts) cannot interleave inside our
// commands. A single line longer than 4096 bytes is written on its own and
// may interleave with a foreign writer; picket's own writers never
// interleave, as writes are serialised. When the pipe is full, Write waits in
// Go's poller until the reader drains it or ctx is done.
//
// A FIFO that Nagios removed and recreated is noticed through EPIPE, as the
// old pipe lost its reader. A regular file renamed or removed while open keeps
// receiving the writes until Close; the next Write then opens the path again.
type CommandFile struct {
	path   string
	create bool

	// sem serialises writers; a channel rather than a mutex so that waiting
	// for a writer stuck on a full pipe still honours ctx.
	sem chan struct{}

	mu     sync.Mutex // guards f, fifo and closed, so that Close can interrupt a Write
	f      *os.File
	fifo   bool
	closed bool

	// Owned by the holder of sem.
	torn     bool     // a command was cut short by the last failed write
	tornFile *os.File // the descriptor it was cut short on
}

// NewCommandFile returns a CommandFile for path without touching the
// file system; the first Write opens it. Use it when the command file may
// legitimately be unavailable at start (Nagios not running yet).
func NewCommandFile(path string, opts ...CommandFileOption) *CommandFile {
	c := &CommandFile{path: path, sem: make(chan struct{}, 1)}
	for _, o := range opts {
		o(c)
	}
	return c
}

// OpenCommandFile is NewCommandFile followed by opening the file now, so
// that a wrong path, a permission problem or a FIFO without a reader is
// reported at start. The error names the path; errors.Is finds ErrNoReader
// and fs.ErrNotExist.
func OpenCommandFile(path string, opts ...CommandFileOption) (*CommandFile, error) {
	c := NewCommandFile(path, opts...)
	if _, _, err := c.open(); err != nil {
		return nil, fmt.Errorf("nagios command file %s: %w", path, err)
	}
	return c, nil
}

// Path returns the path of the command file.
func (c *CommandFile) Path() string { return c.path }

// Close closes the descriptor. A Write blocked on a full pipe returns with
// ErrClosed; later Writes fail with ErrClosed.
func (c *CommandFile) Close() error {
	c.mu.Lock()
	f := c.f
	c.f, c.closed = nil, true
	c.mu.Unlock()
	if f == nil {
		return nil
	}
	return f.Close()
}

// Write writes lines, one or more complete newline-terminated commands, to
// the command file. If the reader of a FIFO went away (EPIPE: Nagios stopped
// or restarted), Write reopens the path once and carries on from the first
// command not written whole, so a Nagios restart that has already finished
// costs nothing. It returns nil only when every byte was written; otherwise a
// *WriteError saying how many bytes of how many were written, wrapping
// ErrNoReader, fs.ErrNotExist, ctx.Err() or the system error.
//
// Cancelling ctx unblocks a Write waiting on a full FIFO. Writes to a regular
// file are not interruptible, but they do not wait on a reader either.
func (c *CommandFile) Write(ctx context.Context, lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	if lines[len(lines)-1] != '\n' {
		return c.writeErr(lines, 0, ErrNotTerminated)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return c.writeErr(lines, 0, ctx.Err())
	}
	defer func() { <-c.sem }()
	if n, err := c.writeLines(ctx, lines); err != nil {
		return c.writeErr(lines, n, err)
	}
	return nil
}

func (c *CommandFile) writeErr(lines []byte, written int, err error) error {
	return &WriteError{
		Path:    c.path,
		Written: written,
		Total:   len(lines),
		Torn:    written > 0 && lines[written-1] != '\n',
		Err:     err,
	}
}

var newline = []byte{'\n'}

// writeLines does the work of Write while holding c.sem and returns how many
// bytes of lines were written.
func (c *CommandFile) writeLines(ctx context.Context, lines []byte) (int, error) {
	var g deadlineGuard
	defer g.release()
	written := 0
	reopened := false
	for written < len(lines) {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		f, fifo, err := c.open()
		if err != nil {
			return written, err
		}
		if fifo {
			g.watch(ctx, f)
		}
		chunk, fixing := lines[written:], false
		switch {
		case c.torn && (!fifo || f == c.tornFile):
			// The fragment is still in this file or pipe; end it so that it
			// does not swallow our next command.
			chunk, fixing = newline, true
		case fifo:
			c.torn = false
			chunk = nextChunk(chunk)
		default:
			c.torn = false
		}
		n, err := f.Write(chunk)
		if fixing {
			n = 0
			if err == nil {
				c.torn = false
			}
		}
		written += n
		if err == nil {
			continue
		}
		if n > 0 && lines[written-1] != '\n' {
			c.torn, c.tornFile = true, f
		}
		if c.isClosed() {
			return written, ErrClosed
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil {
			// The descriptor is fine; keep it.
			return written, ctx.Err()
		}
		c.drop(f)
		if errors.Is(err, syscall.EPIPE) {
			if !reopened {
				// Start again from the first command not written whole: a
				// fragment went into a pipe nobody will read.
				reopened = true
				written = bytes.LastIndexByte(lines[:written], '\n') + 1
				continue
			}
			return written, fmt.Errorf("%w (the reader closed the pipe while we wrote: %w)", ErrNoReader, err)
		}
		return written, err
	}
	return written, nil
}

// nextChunk returns the longest prefix of b made of whole lines that fits in
// one atomic pipe write, or the first line alone when it is longer than that.
func nextChunk(b []byte) []byte {
	if len(b) <= pipeBuf {
		return b
	}
	if i := bytes.LastIndexByte(b[:pipeBuf], '\n'); i >= 0 {
		return b[:i+1]
	}
	return b[:bytes.IndexByte(b, '\n')+1]
}

func (c *CommandFile) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// drop closes f after a write error so that the next write reopens the path:
// after EPIPE the pipe we hold is dead, and Nagios may have created a new one.
func (c *CommandFile) drop(f *os.File) {
	c.mu.Lock()
	if c.f == f {
		c.f = nil
	}
	c.mu.Unlock()
	f.Close()
}

// open returns the open descriptor, opening the path if needed.
func (c *CommandFile) open() (*os.File, bool, error) {
	c.mu.Lock()
	f, fifo, closed := c.f, c.fifo, c.closed
	c.mu.Unlock()
	if closed {
		return nil, false, ErrClosed
	}
	if f != nil {
		return f, fifo, nil
	}
	f, fifo, err := openPath(c.path, c.create)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		f.Close()
		return nil, false, ErrClosed
	}
	c.f, c.fifo = f, fifo
	return f, fifo, nil
}

// openPath opens path for appending without blocking and says whether it is
// a FIFO. Errors do not repeat the path; the caller adds it.
func openPath(path string, create bool) (*os.File, bool, error) {
	// O_NONBLOCK makes opening a FIFO without a reader fail with ENXIO
	// instead of hanging, and makes Go register the FIFO with its poller,
	// so that a write to a full pipe parks there and a deadline can end it.
	// It has no effect on regular files.
	flag := os.O_WRONLY | os.O_APPEND | syscall.O_NONBLOCK
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o660)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		switch {
		case errors.Is(err, syscall.ENXIO):
			if fi, serr := os.Stat(path); serr == nil && fi.Mode()&fs.ModeSocket != 0 {
				return nil, false, fmt.Errorf("is a socket, not a FIFO or a file: %w", err)
			}
			return nil, false, ErrNoReader
		case errors.Is(err, fs.ErrNotExist) && create:
			return nil, false, fmt.Errorf("does not exist and cannot be created; is its directory missing? %w", err)
		case errors.Is(err, fs.ErrNotExist):
			return nil, false, fmt.Errorf("does not exist (for Nagios' command FIFO this usually means Nagios is not running): %w", err)
		}
		return nil, false, fmt.Errorf("open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("stat: %w", err)
	}
	return f, fi.Mode()&fs.ModeNamedPipe != 0, nil
}

// deadlineGuard turns the cancellation of ctx into a write deadline in the
// past on a pollable file, which wakes a Write parked on a full pipe.
type deadlineGuard struct {
	f    *os.File
	stop func() bool
	done chan struct{}
}

func (g *deadlineGuard) watch(ctx context.Context, f *os.File) {
	if g.f == f || ctx.Done() == nil {
		return
	}
	g.release()
	done := make(chan struct{})
	g.f, g.done = f, done
	g.stop = context.AfterFunc(ctx, func() {
		f.SetWriteDeadline(time.Unix(1, 0))
		close(done)
	})
}

// release clears the deadline for the next Write. If the AfterFunc has
// started it must finish first, or it could set its deadline after ours.
func (g *deadlineGuard) release() {
	if g.f == nil {
		return
	}
	if !g.stop() {
		<-g.done
	}
	g.f.SetWriteDeadline(time.Time{})
	g.f = nil
}
