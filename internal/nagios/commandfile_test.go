package nagios

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// resultLines returns n check result lines whose output says who wrote them.
func resultLines(writer string, from, n int) []byte {
	var b []byte
	for i := from; i < from+n; i++ {
		b = AppendCheckResult(b, ts, "host-"+writer, "svc", i%4, fmt.Sprintf("%s line %d\nlong output", writer, i))
	}
	return b
}

func TestRegularFileAppendKeepsExistingContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nagios.cmd")
	const existing = "[1] SOMETHING_ELSE;x\n"
	if err := os.WriteFile(path, []byte(existing), 0o600); err != nil {
		t.Fatal(err)
	}
	cf, err := OpenCommandFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	a, b := resultLines("a", 0, 3), resultLines("a", 3, 2)
	for _, lines := range [][]byte{a, b} {
		if err := cf.Write(t.Context(), lines); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := existing + string(a) + string(b); string(got) != want {
		t.Errorf("file holds\n%q\nwant\n%q", got, want)
	}
}

func TestRegularFileTwoWritersInterleaveOnlyWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nagios.cmd")
	const perWriter, batch = 300, 10
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		cf := NewCommandFile(path)
		defer cf.Close()
		wg.Go(func() {
			for i := 0; i < perWriter; i += batch {
				if err := cf.Write(t.Context(), resultLines(name, i, batch)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Several goroutines on one CommandFile, for the race detector.
	shared := NewCommandFile(path)
	defer shared.Close()
	for _, name := range []string{"c", "d", "e"} {
		wg.Go(func() {
			for i := range perWriter {
				if err := shared.Write(t.Context(), resultLines(name, i, 1)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	checkStream(t, readFile(t, path), map[string]int{"a": perWriter, "b": perWriter, "c": perWriter, "d": perWriter, "e": perWriter})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkStream checks that stream holds exactly the lines resultLines makes
// for each writer, each line whole and each writer's lines in order.
func checkStream(t *testing.T, stream []byte, writers map[string]int) {
	t.Helper()
	want := map[string][]string{}
	for w, n := range writers {
		want[w] = strings.SplitAfter(string(resultLines(w, 0, n)), "\n")
		want[w] = want[w][:n]
	}
	got := map[string][]string{}
	for _, line := range strings.SplitAfter(string(stream), "\n") {
		if line == "" {
			continue
		}
		host, _, _ := strings.Cut(strings.TrimPrefix(line, "[1795265690] PROCESS_SERVICE_CHECK_RESULT;host-"), ";")
		if _, ok := want[host]; !ok {
			t.Fatalf("torn or foreign line %.200q", line)
		}
		got[host] = append(got[host], line)
	}
	for w := range want {
		if !slices.Equal(got[w], want[w]) {
			t.Errorf("writer %s: got %d lines, want %d, or out of order or torn", w, len(got[w]), len(want[w]))
		}
	}
}

func TestMissingPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rw", "nagios.cmd")
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	lines := resultLines("a", 0, 1)

	err := NewCommandFile(path).Write(t.Context(), lines)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Write to missing path: %v", err)
	}
	var we *WriteError
	if !errors.As(err, &we) || we.Written != 0 || we.Total != len(lines) {
		t.Errorf("Write to missing path: %#v", we)
	}
	if _, err := OpenCommandFile(path); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("OpenCommandFile of missing path: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing path was created without CreateRegular: %v", err)
	}

	cf := NewCommandFile(path, CreateRegular())
	defer cf.Close()
	if err := cf.Write(t.Context(), lines); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("created %v, want a regular file without access for others", fi.Mode())
	}
	if got := readFile(t, path); string(got) != string(lines) {
		t.Errorf("file holds %q", got)
	}

	noDir := filepath.Join(dir, "absent", "nagios.cmd")
	if err := NewCommandFile(noDir, CreateRegular()).Write(t.Context(), lines); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), noDir) {
		t.Errorf("CreateRegular in a missing directory: %v", err)
	}
}

func TestWriteRejectsUnterminatedAndClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nagios.cmd")
	cf := NewCommandFile(path, CreateRegular())
	if err := cf.Write(t.Context(), []byte("[1] RESTART_PROGRAM")); !errors.Is(err, ErrNotTerminated) {
		t.Errorf("unterminated: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unterminated write touched the file: %v", err)
	}
	if err := cf.Write(t.Context(), nil); err != nil {
		t.Errorf("empty write: %v", err)
	}
	if err := cf.Write(t.Context(), []byte("[1] RESTART_PROGRAM\n")); err != nil {
		t.Fatal(err)
	}
	if err := cf.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cf.Write(t.Context(), []byte("[2] RESTART_PROGRAM\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := NewCommandFile(path).Write(ctx, []byte("x\n")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: %v", err)
	}
	if got := readFile(t, path); string(got) != "[1] RESTART_PROGRAM\n" {
		t.Errorf("file holds %q", got)
	}
}

func BenchmarkCommandFileWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "nagios.cmd")
	cf := NewCommandFile(path, CreateRegular())
	defer cf.Close()
	var lines []byte
	for i := range 100 {
		lines = AppendCheckResult(lines, ts, "web01.example.com", "disk_root", i%4,
			"DISK OK - free space: / 3326 MB (56% inode=99%);| /=2643MB;5948;5958;0;5968")
	}
	b.SetBytes(int64(len(lines)))
	b.ReportAllocs()
	ctx := b.Context()
	for b.Loop() {
		if err := cf.Write(ctx, lines); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "lines/s")
}
