package nagios

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

const (
	fSetPipeSz = 1031 // F_SETPIPE_SZ, which package syscall lacks
	fGetPipeSz = 1032
)

func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nagios.cmd")
	if err := syscall.Mkfifo(path, 0o660); err != nil {
		t.Fatal(err)
	}
	return path
}

// openReader opens the FIFO the way Nagios does, read-write and
// non-blocking, so that it never sees end of file. The read deadline turns a
// bug that loses data into a failure instead of a hung test.
func openReader(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return f
}

// shrinkPipe makes the pipe as small as the kernel allows (one page), so
// that it fills up for certain, and returns its size.
func shrinkPipe(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size uintptr
	var errno syscall.Errno
	err = rc.Control(func(fd uintptr) {
		if _, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, 4096); errno != 0 {
			return
		}
		size, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, fGetPipeSz, 0)
	})
	if err != nil || errno != 0 {
		t.Fatalf("F_SETPIPE_SZ: %v %v", err, errno)
	}
	return int(size)
}

// queued returns how many bytes wait in the pipe (FIONREAD).
func queued(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int32
	var errno syscall.Errno
	err = rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	if err != nil || errno != 0 {
		t.Fatalf("FIONREAD: %v %v", err, errno)
	}
	return int(n)
}

func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("reading %d bytes from the pipe: %v", n, err)
	}
	return b
}

// fill writes whole 64-byte lines until the pipe holds size bytes.
func fill(t *testing.T, cf *CommandFile, size int) {
	t.Helper()
	line := strings.Repeat("f", 63) + "\n"
	if err := cf.Write(t.Context(), []byte(strings.Repeat(line, size/64))); err != nil {
		t.Fatal(err)
	}
}

func TestFIFONoReader(t *testing.T) {
	path := mkfifo(t)
	lines := resultLines("a", 0, 2)
	err := NewCommandFile(path).Write(t.Context(), lines)
	if !errors.Is(err, ErrNoReader) {
		t.Fatalf("got %v, want ErrNoReader", err)
	}
	for _, s := range []string{path, "Nagios is probably not running", "wrote 0 of"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if _, err := OpenCommandFile(path); !errors.Is(err, ErrNoReader) || !strings.Contains(err.Error(), path) {
		t.Errorf("OpenCommandFile: %v", err)
	}
}

func TestFIFOLinesArriveIntact(t *testing.T) {
	path := mkfifo(t)
	r := openReader(t, path)
	cf := NewCommandFile(path)
	defer cf.Close()
	long := AppendCheckResult(nil, ts, "h", "s", 0, strings.Repeat("long\\line\n", 1500))
	batches := [][]byte{resultLines("a", 0, 1), resultLines("a", 1, 100), long, resultLines("a", 101, 3)}
	want := bytes.Join(batches, nil)
	got := make(chan []byte)
	go func() { got <- readN(t, r, len(want)) }()
	for _, b := range batches {
		if err := cf.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	if g := <-got; !bytes.Equal(g, want) {
		t.Errorf("reader got %d bytes, different from the %d written", len(g), len(want))
	}
}

func TestFIFOReaderClosesAndComesBack(t *testing.T) {
	path := mkfifo(t)
	cf := NewCommandFile(path)
	defer cf.Close()
	a, b := resultLines("a", 0, 2), resultLines("a", 2, 2)

	r1 := openReader(t, path)
	if err := cf.Write(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, r1, len(a)); !bytes.Equal(got, a) {
		t.Fatalf("first reader got %q", got)
	}
	r1.Close()

	// The pipe we hold has no reader now: EPIPE, reopen, ENXIO.
	err := cf.Write(t.Context(), b)
	if !errors.Is(err, ErrNoReader) || !strings.Contains(err.Error(), path) {
		t.Fatalf("write after the reader left: %v", err)
	}

	r2 := openReader(t, path)
	if err := cf.Write(t.Context(), b); err != nil {
		t.Fatalf("write after a reader came back: %v", err)
	}
	if got := readN(t, r2, len(b)); !bytes.Equal(got, b) {
		t.Fatalf("second reader got %q", got)
	}
}

// Nagios removes and recreates its FIFO when it restarts: the descriptor we
// hold then points at a dead pipe, and the one Write must reopen the path.
func TestFIFORecreatedIsReopenedWithinOneWrite(t *testing.T) {
	path := mkfifo(t)
	cf := NewCommandFile(path)
	defer cf.Close()
	a, b := resultLines("a", 0, 2), resultLines("a", 2, 200)

	r1 := openReader(t, path)
	if err := cf.Write(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	readN(t, r1, len(a))
	r1.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o660); err != nil {
		t.Fatal(err)
	}
	r2 := openReader(t, path)
	got := make(chan []byte)
	go func() { got <- readN(t, r2, len(b)) }()
	if err := cf.Write(t.Context(), b); err != nil {
		t.Fatalf("write after Nagios recreated the FIFO: %v", err)
	}
	if g := <-got; !bytes.Equal(g, b) {
		t.Fatalf("new reader got %d bytes, not the %d written", len(g), len(b))
	}
}

func TestFIFOFullPipeSlowReaderNoTornLines(t *testing.T) {
	path := mkfifo(t)
	r := openReader(t, path)
	shrinkPipe(t, r)
	const perWriter, batch = 600, 40
	writers := map[string]int{"a": perWriter, "b": perWriter}
	total := 0
	for w, n := range writers {
		total += len(resultLines(w, 0, n))
	}
	got := make(chan []byte)
	go func() {
		// Small reads keep the pipe full most of the time.
		var out []byte
		buf := make([]byte, 97)
		for len(out) < total {
			n, err := r.Read(buf)
			if err != nil {
				t.Error(err)
				break
			}
			out = append(out, buf[:n]...)
		}
		got <- out
	}()
	var wg sync.WaitGroup
	for w := range writers {
		// A CommandFile each: separate descriptors, like foreign writers.
		cf := NewCommandFile(path)
		defer cf.Close()
		wg.Go(func() {
			for i := 0; i < perWriter; i += batch {
				if err := cf.Write(t.Context(), resultLines(w, i, batch)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	checkStream(t, <-got, writers)
}

func TestFIFOCancelUnblocksWriterOnFullPipe(t *testing.T) {
	path := mkfifo(t)
	r := openReader(t, path)
	size := shrinkPipe(t, r)
	cf := NewCommandFile(path)
	defer cf.Close()
	fill(t, cf, size)

	line := []byte("[1] RESTART_PROGRAM\n")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	err := cf.Write(ctx, line)
	var we *WriteError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &we) || we.Written != 0 || we.Torn {
		t.Fatalf("write on a full pipe past its deadline: %v", err)
	}
	if !strings.Contains(err.Error(), "wrote 0 of 20 bytes") {
		t.Errorf("error %q does not say how much was written", err)
	}

	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := cf.Write(ctx, line); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled write on a full pipe: %v", err)
	}

	// Close also unblocks a writer, and the descriptor was kept until now.
	done := make(chan error)
	go func() { done <- cf.Write(context.Background(), line) }()
	time.AfterFunc(20*time.Millisecond, func() { cf.Close() })
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("write interrupted by Close: %v", err)
	}
	readN(t, r, size/64*64)

	// After the reader drained the pipe a new CommandFile writes again.
	cf2 := NewCommandFile(path)
	defer cf2.Close()
	if err := cf2.Write(t.Context(), line); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, r, len(line)); !bytes.Equal(got, line) {
		t.Errorf("got %q", got)
	}
}

func TestFIFOTornLineIsTerminated(t *testing.T) {
	path := mkfifo(t)
	r := openReader(t, path)
	size := shrinkPipe(t, r)
	cf := NewCommandFile(path)
	defer cf.Close()

	long := []byte(strings.Repeat("L", size+5000) + "\n")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error)
	go func() { errc <- cf.Write(ctx, long) }()
	waitFor(t, "the pipe to fill", func() bool { return queued(t, r) == size })
	cancel()
	err := <-errc
	var we *WriteError
	if !errors.As(err, &we) || !we.Torn || we.Written == 0 || we.Written >= len(long) {
		t.Fatalf("long line on a full pipe: %v", err)
	}
	if !strings.Contains(err.Error(), "cutting a command short") {
		t.Errorf("error %q does not say a command was cut short", err)
	}

	next := []byte("[1] RESTART_PROGRAM\n")
	want := append(append(bytes.Clone(long[:we.Written]), '\n'), next...)
	got := make(chan []byte)
	go func() { got <- readN(t, r, len(want)) }()
	if err := cf.Write(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	if g := <-got; !bytes.Equal(g, want) {
		t.Errorf("stream after a torn line ends with %q, want the fragment, a newline, then %q", g[max(0, len(g)-40):], next)
	}
}

func TestSocketIsNotTakenForAFIFOWithoutReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nagios.cmd")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal("cannot listen on a unix socket:", err)
	}
	defer l.Close()
	err = NewCommandFile(path).Write(t.Context(), []byte("[1] X\n"))
	if err == nil || errors.Is(err, ErrNoReader) || !strings.Contains(err.Error(), "socket") || !strings.Contains(err.Error(), path) {
		t.Errorf("write to a socket: %v", err)
	}
}
