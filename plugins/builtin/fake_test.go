package builtin

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

// fakeOS serves fixed figures. Sleep moves the clock and swaps in the
// second CPU sample, so cpu's window costs no real time. A nil error field
// means the call succeeds.
type fakeOS struct {
	now      time.Time
	cpu      [][]CPUTimes // one sample per CPUTimes call
	cpuCalls int
	load     LoadAvg
	mem      Memory
	swap     Swap
	fss      []Filesystem
	usage    map[string]DiskUsage
	procs    []Process
	self     int
	services map[string]ServiceStatus
	uptime   time.Duration
	files    map[string]fakeFile
	events   []Event
	state    map[string][]byte
	noState  bool
	err      error // returned by every reading call when set
}

type fakeFile struct {
	size int64
	mod  time.Time
}

func (f fakeFile) Name() string       { return "" }
func (f fakeFile) Size() int64        { return f.size }
func (f fakeFile) Mode() fs.FileMode  { return 0o644 }
func (f fakeFile) ModTime() time.Time { return f.mod }
func (f fakeFile) IsDir() bool        { return false }
func (f fakeFile) Sys() any           { return nil }

var _ OS = (*fakeOS)(nil)

func (f *fakeOS) Now() time.Time { return f.now }

func (f *fakeOS) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeOS) CPUTimes(context.Context) ([]CPUTimes, error) {
	if f.err != nil {
		return nil, f.err
	}
	s := f.cpu[min(f.cpuCalls, len(f.cpu)-1)]
	f.cpuCalls++
	return s, nil
}

func (f *fakeOS) LoadAvg(context.Context) (LoadAvg, error) { return f.load, f.err }
func (f *fakeOS) Memory(context.Context) (Memory, error)   { return f.mem, f.err }
func (f *fakeOS) Swap(context.Context) (Swap, error)       { return f.swap, f.err }
func (f *fakeOS) Filesystems(context.Context) ([]Filesystem, error) {
	return f.fss, f.err
}

func (f *fakeOS) DiskUsage(_ context.Context, p string) (DiskUsage, error) {
	u, ok := f.usage[p]
	if !ok {
		return DiskUsage{}, &fs.PathError{Op: "statfs", Path: p, Err: fs.ErrNotExist}
	}
	return u, nil
}

func (f *fakeOS) Processes(context.Context) ([]Process, error) { return f.procs, f.err }
func (f *fakeOS) SelfPID() int                                 { return f.self }

func (f *fakeOS) Service(_ context.Context, name string) (ServiceStatus, error) {
	if f.err != nil {
		return ServiceStatus{}, f.err
	}
	s, ok := f.services[name]
	if !ok {
		return ServiceStatus{}, ErrNoService
	}
	return s, nil
}

func (f *fakeOS) Uptime(context.Context) (time.Duration, error) { return f.uptime, f.err }

func (f *fakeOS) Glob(pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	var out []string
	for name := range f.files {
		if ok, _ := path.Match(pattern, name); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeOS) Stat(name string) (fs.FileInfo, error) {
	fi, ok := f.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fi, nil
}

func (f *fakeOS) LastRecord(context.Context, string) (uint64, error) {
	if f.err != nil {
		return 0, f.err
	}
	if len(f.events) == 0 {
		return 0, nil
	}
	return f.events[len(f.events)-1].Record, nil
}

func (f *fakeOS) Events(_ context.Context, _ string, after uint64, max int) ([]Event, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []Event
	for _, e := range f.events {
		if e.Record > after && len(out) < max {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeOS) LoadState(name string) ([]byte, error) {
	if f.noState {
		return nil, ErrNoStateDir
	}
	b, ok := f.state[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return b, nil
}

func (f *fakeOS) SaveState(name string, data []byte) error {
	if f.noState {
		return ErrNoStateDir
	}
	if f.state == nil {
		f.state = map[string][]byte{}
	}
	f.state[name] = data
	return nil
}

// runCheck builds the named check from a command line and runs it once.
func runCheck(t *testing.T, sys OS, name string, args ...string) check.Result {
	t.Helper()
	b, ok := Lookup(name)
	if !ok {
		t.Fatalf("no built-in %s", name)
	}
	c, err := b.New(args)
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return c.Run(context.Background(), sys)
}

// want is one row's expectation: state, output (exact, or a substring when
// it starts with "~"), and perfdata rendered as a plugin prints it.
type want struct {
	state  check.State
	output string
	perf   string
}

func (w want) check(t *testing.T, what string, r check.Result) {
	t.Helper()
	if r.State != w.state {
		t.Errorf("%s: state %s, want %s (output %q)", what, r.State, w.state, r.Output)
	}
	if sub, ok := strings.CutPrefix(w.output, "~"); ok {
		if !strings.Contains(r.Output, sub) {
			t.Errorf("%s: output %q lacks %q", what, r.Output, sub)
		}
	} else if r.Output != w.output {
		t.Errorf("%s: output\n  %q\nwant\n  %q", what, r.Output, w.output)
	}
	if w.perf != "" {
		var got []string
		for _, p := range r.Perfdata {
			got = append(got, p.String())
		}
		if g := strings.Join(got, " "); g != w.perf {
			t.Errorf("%s: perfdata\n  %s\nwant\n  %s", what, g, w.perf)
		}
	}
	if r.ExitCode != int(r.State) {
		t.Errorf("%s: exit code %d for state %s", what, r.ExitCode, r.State)
	}
}

var errBroken = errors.New("broken")
