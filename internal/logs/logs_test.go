package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestComponentLevels(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(Config{Level: slog.LevelWarn, Levels: map[string]slog.Level{"poller": slog.LevelDebug}}, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	poller := l.With("component", "poller")
	spooler := l.With("component", "spooler")
	poller.Debug("poller debug")
	spooler.Info("spooler info")
	spooler.Warn("spooler warn")
	l.Info("plain info")
	l.Error("plain error")
	out := buf.String()
	for _, want := range []string{"poller debug", "spooler warn", "plain error"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, not := range []string{"spooler info", "plain info"} {
		if strings.Contains(out, not) {
			t.Errorf("%q logged below its level:\n%s", not, out)
		}
	}

	// A reload lowers the default and raises the poller's, for loggers
	// made before it.
	buf.Reset()
	l.SetLevels(slog.LevelDebug, map[string]slog.Level{"poller": slog.LevelError})
	poller.Warn("poller warn")
	spooler.Debug("spooler debug")
	if out := buf.String(); strings.Contains(out, "poller warn") || !strings.Contains(out, "spooler debug") {
		t.Errorf("after SetLevels:\n%s", out)
	}
}

func TestJSONFormat(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(Config{Format: "json"}, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.With("component", "spool").Info("opened", "records", 3)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %v\n%s", err, buf.String())
	}
	if rec["msg"] != "opened" || rec["component"] != "spool" || rec["records"] != 3.0 {
		t.Errorf("record: %v", rec)
	}
	if _, err := New(Config{Format: "xml"}, &buf, nil); err == nil {
		t.Error("format xml accepted")
	}
}

// The file rotates at its size and keeps only MaxFiles old ones; nobody but
// the owner can read it (results and commands appear in logs).
func TestFileRotates(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "picket.log")
	l, err := New(Config{File: file, MaxSize: 1 << 20, MaxFiles: 2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 1000)
	for i := range 5000 { // about 5 MiB: four rotations
		l.Info("filler", "i", i, "pad", line)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// lumberjack prunes old files in a goroutine of its own, which may lag
	// the last rotation: wait for it to get down to the current file and
	// two rotated ones.
	var ents []os.DirEntry
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ents, err = os.ReadDir(dir); err != nil {
			t.Fatal(err)
		}
		if len(ents) <= 3 || time.Now().After(deadline) {
			break
		}
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
		fi, _ := e.Info()
		if fi.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, over the 1 MiB limit", e.Name(), fi.Size())
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: readable by others", e.Name(), fi.Mode().Perm())
		}
	}
	if len(names) < 2 || len(names) > 3 {
		t.Errorf("files: %v, want picket.log and 2 rotated", names)
	}
	data, _ := os.ReadFile(file)
	if !strings.Contains(string(data), "i=4999") {
		t.Errorf("the last record is not in the current file")
	}
}

type fakeSink struct{ got []string }

func (f *fakeSink) Info(m string) error    { f.got = append(f.got, "I "+m); return nil }
func (f *fakeSink) Warning(m string) error { f.got = append(f.got, "W "+m); return nil }
func (f *fakeSink) Error(m string) error   { f.got = append(f.got, "E "+m); return nil }

func TestEventSink(t *testing.T) {
	sink := &fakeSink{}
	l, err := New(Config{Level: slog.LevelDebug}, nil, sink)
	if err != nil {
		t.Fatal(err)
	}
	ext := l.With("component", "externals")
	ext.Debug("pulled", "etag", "x1")
	ext.Warn("stale")
	l.Error("failed", "err", fmt.Errorf("boom"))
	want := []string{
		`I msg=pulled component=externals etag=x1`,
		`W msg=stale component=externals`,
		`E msg=failed err=boom`,
	}
	if strings.Join(sink.got, "\n") != strings.Join(want, "\n") {
		t.Errorf("event log got:\n%s\nwant:\n%s", strings.Join(sink.got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
		ok   bool
	}{
		{"debug", slog.LevelDebug, true},
		{"INFO", slog.LevelInfo, true},
		{"", slog.LevelInfo, true},
		{"warning", slog.LevelWarn, true},
		{"warn", slog.LevelWarn, true},
		{"error", slog.LevelError, true},
		{"verbose", 0, false},
	} {
		got, err := ParseLevel(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseLevel(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func FuzzParseLevel(f *testing.F) {
	for _, s := range []string{"debug", "Warn", " error ", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLevel(s)
		if err == nil && l != slog.LevelDebug && l != slog.LevelInfo && l != slog.LevelWarn && l != slog.LevelError {
			t.Errorf("ParseLevel(%q) = %v", s, l)
		}
	})
}
