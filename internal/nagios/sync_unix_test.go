//go:build unix

package nagios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeNagios is a folder with objects, a validator and a reload command that
// count their runs, and a switch that makes the validator fail.
type fakeNagios struct {
	t        *testing.T
	dir      string
	objects  string
	validate string
	reload   string
	failFile string
}

func newFakeNagios(t *testing.T) *fakeNagios {
	dir := t.TempDir()
	f := &fakeNagios{t: t, dir: dir, objects: filepath.Join(dir, "objects"), failFile: filepath.Join(dir, "fail")}
	f.validate = script(t, dir, "validate", fmt.Sprintf(`echo run >> %[1]s/validate.runs
if [ -e %[2]s ]; then
	echo "Reading configuration data..."
	echo "Error: Template 'nope' specified in service definition could not be found (config file 'x.cfg', starting on line 3)"
	echo "   Error processing object config files!"
	exit 1
fi
echo "Warning: something mild"
echo "Total Warnings: 1"
`, dir, f.failFile))
	f.reload = script(t, dir, "reload", fmt.Sprintf("echo run >> %s/reload.runs\n", dir))
	return f
}

func (f *fakeNagios) objectsFor() *Objects {
	return &Objects{Dir: f.objects, Validate: []string{f.validate}, Reload: []string{f.reload}}
}

func (f *fakeNagios) runs(name string) int {
	b, _ := os.ReadFile(filepath.Join(f.dir, name+".runs"))
	return bytes.Count(b, []byte("run\n"))
}

func (f *fakeNagios) failValidation(fail bool) {
	f.t.Helper()
	if fail {
		if err := os.WriteFile(f.failFile, nil, 0o644); err != nil {
			f.t.Fatal(err)
		}
	} else if err := os.Remove(f.failFile); err != nil {
		f.t.Fatal(err)
	}
}

type fileState struct {
	data []byte
	mode fs.FileMode
	info fs.FileInfo
}

// snapshot returns every entry of dir, recursively, with content and mode.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	m := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		var data []byte
		if fi.Mode().IsRegular() {
			if data, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = fileState{data: data, mode: fi.Mode(), info: fi}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameSnapshot(t *testing.T, got, want map[string]fileState) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s is gone", name)
		case !bytes.Equal(g.data, w.data):
			t.Errorf("%s changed:\n%s\nwas:\n%s", name, g.data, w.data)
		case g.mode != w.mode:
			t.Errorf("%s: mode %v, was %v", name, g.mode, w.mode)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s appeared", name)
		}
	}
}

func hostsOf(names ...string) []HostObject {
	var hs []HostObject
	for _, n := range names {
		hs = append(hs, HostObject{Name: n, Services: []ServiceObject{
			{Name: "disk_root", Freshness: 2 * time.Minute},
			{Name: "picket_poller", Freshness: time.Minute},
		}})
	}
	return hs
}

func mustSync(t *testing.T, o *Objects, hosts []HostObject) SyncResult {
	t.Helper()
	res, err := o.Sync(context.Background(), hosts)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return res
}

func TestSyncWritesOnlyWhatChanged(t *testing.T) {
	f := newFakeNagios(t)
	o := f.objectsFor()
	res := mustSync(t, o, hostsOf("web02", "web01"))
	if want := (SyncResult{Written: []string{"web01", "web02"}, Reloaded: true}); !equalResult(res, want) {
		t.Errorf("first sync: %+v, want %+v", res, want)
	}
	for _, h := range hostsOf("web01", "web02") {
		want, err := RenderHost(h, ObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(f.objects, h.Name+".cfg")); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s.cfg: %v\n%s", h.Name, err, got)
		}
	}
	cmds, _ := RenderCommands(ObjectOptions{})
	if got, err := os.ReadFile(filepath.Join(f.objects, CommandsFile)); err != nil || !bytes.Equal(got, cmds) {
		t.Errorf("%s: %v\n%s", CommandsFile, err, got)
	}
	for name, st := range snapshot(t, f.objects) {
		if st.mode.IsRegular() && st.mode.Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644 so that Nagios can read it", name, st.mode)
		}
	}
	if f.runs("validate") != 1 || f.runs("reload") != 1 {
		t.Errorf("validate ran %d times, reload %d; want 1 and 1", f.runs("validate"), f.runs("reload"))
	}

	before := snapshot(t, f.objects)
	hosts := hostsOf("web01", "web02")
	hosts[1].Services[0].Freshness = 5 * time.Minute
	res = mustSync(t, o, hosts)
	if want := (SyncResult{Written: []string{"web02"}, Reloaded: true}); !equalResult(res, want) {
		t.Errorf("second sync: %+v, want %+v", res, want)
	}
	after := snapshot(t, f.objects)
	// A rename gives a new file; an untouched file is the same one.
	if !os.SameFile(before["web01.cfg"].info, after["web01.cfg"].info) {
		t.Error("web01.cfg was rewritten though it did not change")
	}
	if !os.SameFile(before[CommandsFile].info, after[CommandsFile].info) {
		t.Errorf("%s was rewritten though it did not change", CommandsFile)
	}
	if os.SameFile(before["web02.cfg"].info, after["web02.cfg"].info) {
		t.Error("web02.cfg was not replaced")
	}
	if !bytes.Contains(after["web02.cfg"].data, []byte("freshness_threshold     300\n")) {
		t.Errorf("web02.cfg has not the new threshold:\n%s", after["web02.cfg"].data)
	}
	if f.runs("validate") != 2 || f.runs("reload") != 2 {
		t.Errorf("validate ran %d times, reload %d; want 2 and 2", f.runs("validate"), f.runs("reload"))
	}
}

func TestSyncUnchangedRunsNothing(t *testing.T) {
	f := newFakeNagios(t)
	o := f.objectsFor()
	mustSync(t, o, hostsOf("web01", "web02"))
	before := snapshot(t, f.objects)
	// Same hosts, other order.
	res := mustSync(t, o, hostsOf("web02", "web01"))
	if !equalResult(res, SyncResult{}) {
		t.Errorf("unchanged sync: %+v, want empty", res)
	}
	if f.runs("validate") != 1 || f.runs("reload") != 1 {
		t.Errorf("validate ran %d times, reload %d; want 1 and 1", f.runs("validate"), f.runs("reload"))
	}
	after := snapshot(t, f.objects)
	sameSnapshot(t, after, before)
	for name := range before {
		if !os.SameFile(before[name].info, after[name].info) {
			t.Errorf("%s was rewritten", name)
		}
	}
}

func TestSyncRemovesOnlyPicketFiles(t *testing.T) {
	f := newFakeNagios(t)
	o := f.objectsFor()
	mustSync(t, o, hostsOf("web01", "old", ".hidden", "picket-commands", "a/b"))
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(f.objects, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Files of the administrator's, and one of the hosts' name.
	write("admin.cfg", "define host {\n}\n")
	write("web02.cfg", "# mine\n")
	write("empty.cfg", "")
	write("notes.txt", Header+"not a .cfg file\n")
	write("short.cfg", Header[:10])
	if err := os.Mkdir(filepath.Join(f.objects, "sub.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("sub.cfg/x.cfg", Header)
	if err := os.Symlink(filepath.Join(f.objects, "web01.cfg"), filepath.Join(f.objects, "link.cfg")); err != nil {
		t.Fatal(err)
	}
	foreign := snapshot(t, f.objects)
	for _, n := range []string{"web01.cfg", "old.cfg", "%2Ehidden.cfg", "%70icket-commands.cfg", "a%2Fb.cfg", CommandsFile} {
		if _, ok := foreign[n]; !ok {
			t.Fatalf("no %s after the first sync: %v", n, foreign)
		}
		delete(foreign, n)
	}

	res := mustSync(t, o, hostsOf("web01", "web02"))
	want := SyncResult{Removed: []string{".hidden", "a/b", "old", "picket-commands"}, Foreign: []string{"web02"}, Reloaded: true}
	if !equalResult(res, want) {
		t.Errorf("got %+v, want %+v", res, want)
	}
	after := snapshot(t, f.objects)
	for _, n := range []string{"web01.cfg", CommandsFile} {
		if _, ok := after[n]; !ok {
			t.Errorf("%s is gone", n)
		}
		delete(after, n)
	}
	sameSnapshot(t, after, foreign)

	// Nothing changes now, but the foreign host is still reported.
	res = mustSync(t, o, hostsOf("web01", "web02"))
	if !equalResult(res, SyncResult{Foreign: []string{"web02"}}) {
		t.Errorf("got %+v", res)
	}
}

func TestSyncFailedValidationRestoresEverything(t *testing.T) {
	f := newFakeNagios(t)
	o := f.objectsFor()
	mustSync(t, o, hostsOf("web01", "web02", "web03"))
	if err := os.Chmod(filepath.Join(f.objects, "web03.cfg"), 0o640); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, f.objects)

	f.failValidation(true)
	hosts := hostsOf("web01", "web03", "web04") // web02 removed, web04 new
	hosts[0].Alias = "changed"
	hosts[1].Services = hosts[1].Services[:1]
	res, err := o.Sync(context.Background(), hosts)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
	for _, want := range []string{
		"Error: Template 'nope' specified in service definition could not be found (config file 'x.cfg', starting on line 3)",
		"exited with status 1", f.validate, "put the previous files back",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("error does not carry the validator's exit status 1: %v", ee)
	}
	if strings.Contains(err.Error(), "Reading configuration") {
		t.Errorf("error quotes more than the Error lines:\n%v", err)
	}
	if !equalResult(res, SyncResult{}) {
		t.Errorf("result %+v, want empty", res)
	}
	sameSnapshot(t, snapshot(t, f.objects), before)
	if f.runs("reload") != 1 {
		t.Errorf("reload ran %d times after a failed validation, want only the first", f.runs("reload"))
	}

	// Validation passes again: the same change goes through.
	f.failValidation(false)
	res = mustSync(t, o, hosts)
	if want := (SyncResult{Written: []string{"web01", "web03", "web04"}, Removed: []string{"web02"}, Reloaded: true}); !equalResult(res, want) {
		t.Errorf("got %+v, want %+v", res, want)
	}
	if fi, err := os.Stat(filepath.Join(f.objects, "web03.cfg")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("rewritten web03.cfg: %v, %v; want its mode 0640 kept", fi.Mode(), err)
	}
}

func TestSyncRestartProgramToCommandFile(t *testing.T) {
	f := newFakeNagios(t)
	cmdFile := filepath.Join(f.dir, "nagios.cmd")
	if err := os.WriteFile(cmdFile, []byte("[1] EARLIER_COMMAND\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &Objects{Dir: f.objects, Validate: []string{f.validate}, CommandFile: cmdFile}
	res := mustSync(t, o, hostsOf("web01"))
	if !res.Reloaded {
		t.Error("not reloaded")
	}
	b, err := os.ReadFile(cmdFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\[1\] EARLIER_COMMAND\n\[\d+\] RESTART_PROGRAM\n$`).Match(b) {
		t.Errorf("command file:\n%s", b)
	}
	if f.runs("reload") != 0 {
		t.Error("the reload command ran though none was configured")
	}
}

func TestSyncFailedReloadIsRetried(t *testing.T) {
	f := newFakeNagios(t)
	cmdFile := filepath.Join(f.dir, "nagios.cmd") // missing: Nagios is not running
	o := &Objects{Dir: f.objects, Validate: []string{f.validate}, CommandFile: cmdFile}
	res, err := o.Sync(context.Background(), hostsOf("web01"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "reload") {
		t.Fatalf("err %v, want a reload error wrapping fs.ErrNotExist", err)
	}
	if want := (SyncResult{Written: []string{"web01"}}); !equalResult(res, want) {
		t.Errorf("got %+v, want %+v", res, want)
	}
	if _, err := os.Stat(filepath.Join(f.objects, "web01.cfg")); err != nil {
		t.Errorf("validated file did not stay: %v", err)
	}

	// Nothing changed, but the reload is still owed; a new Objects (a
	// restarted picket) owes it too.
	if err := os.WriteFile(cmdFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	o = &Objects{Dir: f.objects, Validate: []string{f.validate}, CommandFile: cmdFile}
	res = mustSync(t, o, hostsOf("web01"))
	if !equalResult(res, SyncResult{Reloaded: true}) {
		t.Errorf("got %+v, want a reload", res)
	}
	if f.runs("validate") != 2 {
		t.Errorf("validate ran %d times, want 2", f.runs("validate"))
	}
	if b, _ := os.ReadFile(cmdFile); !bytes.Contains(b, []byte("RESTART_PROGRAM")) {
		t.Errorf("command file: %q", b)
	}
	// Once reloaded, nothing is owed.
	res = mustSync(t, o, hostsOf("web01"))
	if !equalResult(res, SyncResult{}) {
		t.Errorf("got %+v, want nothing", res)
	}
	if _, err := os.Lstat(filepath.Join(f.objects, pendingMarker)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pending marker: %v", err)
	}

	// A failing reload command says how it failed.
	o = &Objects{Dir: f.objects, Validate: []string{f.validate}, Reload: []string{script(t, f.dir, "badreload", "echo 'nagios4.service not loaded' >&2\nexit 5\n")}}
	_, err = o.Sync(context.Background(), hostsOf("web02"))
	if err == nil || !strings.Contains(err.Error(), "exited with status 5") || !strings.Contains(err.Error(), "nagios4.service not loaded") {
		t.Errorf("err %v", err)
	}
}

func TestSyncWithoutValidatorWarnsOnce(t *testing.T) {
	f := newFakeNagios(t)
	var logBuf syncBuffer
	o := &Objects{Dir: f.objects, Reload: []string{f.reload}, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}
	mustSync(t, o, hostsOf("web01"))
	mustSync(t, o, hostsOf("web01", "web02"))
	if n := strings.Count(logBuf.String(), "no validate command"); n != 1 {
		t.Errorf("warned %d times:\n%s", n, logBuf.String())
	}
	if f.runs("reload") != 2 {
		t.Errorf("reload ran %d times, want 2", f.runs("reload"))
	}
}

func TestSyncLogsValidatorWarnings(t *testing.T) {
	f := newFakeNagios(t)
	var logBuf syncBuffer
	o := f.objectsFor()
	o.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	mustSync(t, o, hostsOf("web01"))
	if !strings.Contains(logBuf.String(), "Warning: something mild") {
		t.Errorf("log:\n%s", logBuf.String())
	}
}

func TestSyncRefusesBadInputWithoutTouchingFiles(t *testing.T) {
	f := newFakeNagios(t)
	o := f.objectsFor()
	mustSync(t, o, hostsOf("web01"))
	before := snapshot(t, f.objects)
	for name, hosts := range map[string][]HostObject{
		"bad name":    append(hostsOf("web02"), HostObject{Name: "a,b"}),
		"host twice":  hostsOf("web02", "web02"),
		"long name":   hostsOf(strings.Repeat("é", 60)),
		"bad options": nil,
	} {
		o := f.objectsFor()
		if name == "bad options" {
			o.Options.StaleState = 9
		}
		_, err := o.Sync(context.Background(), hosts)
		if !errors.Is(err, ErrBadValue) {
			t.Errorf("%s: err %v, want ErrBadValue", name, err)
		}
		sameSnapshot(t, snapshot(t, f.objects), before)
	}
	if f.runs("validate") != 1 {
		t.Errorf("validate ran %d times", f.runs("validate"))
	}

	for name, o := range map[string]*Objects{
		"no dir":    {Validate: []string{f.validate}, Reload: []string{f.reload}},
		"no reload": {Dir: f.objects, Validate: []string{f.validate}},
	} {
		if _, err := o.Sync(context.Background(), hostsOf("web02")); err == nil {
			t.Errorf("%s: no error", name)
		}
		sameSnapshot(t, snapshot(t, f.objects), before)
	}
}

// TestSyncValidatorTimeoutKillsItsChildren: a validator that hangs with a
// child is killed with the child, and the files are put back.
func TestSyncValidatorTimeoutKillsItsChildren(t *testing.T) {
	f := newFakeNagios(t)
	mustSync(t, f.objectsFor(), hostsOf("web01"))
	before := snapshot(t, f.objects)
	pidFile := filepath.Join(f.dir, "child.pid")
	hang := script(t, f.dir, "hang", fmt.Sprintf("sleep 300 &\necho $! > %s\nwait\n", pidFile))
	o := &Objects{Dir: f.objects, Validate: []string{hang}, Reload: []string{f.reload}, Timeout: 300 * time.Millisecond}
	_, err := o.Sync(context.Background(), hostsOf("web02"))
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err %v, want a timeout that is not ErrInvalid", err)
	}
	sameSnapshot(t, snapshot(t, f.objects), before)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

// waitGone waits until pid no longer runs: killed, it may stay a zombie for
// a moment until its new parent reaps it.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if _, rest, ok := bytes.Cut(b, []byte(") ")); ok && bytes.HasPrefix(rest, []byte("Z")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the validator's child %d still runs", pid)
		}
	}
}

// TestSyncCancelDuringValidation: cancelling the context kills the
// validator and puts the files back.
func TestSyncCancelDuringValidation(t *testing.T) {
	f := newFakeNagios(t)
	mustSync(t, f.objectsFor(), hostsOf("web01"))
	before := snapshot(t, f.objects)
	started := filepath.Join(f.dir, "started")
	if err := syscall.Mkfifo(started, 0o600); err != nil {
		t.Fatal(err)
	}
	slow := script(t, f.dir, "slow", fmt.Sprintf("echo started > %s\nexec sleep 300\n", started))
	o := &Objects{Dir: f.objects, Validate: []string{slow}, Reload: []string{f.reload}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := o.Sync(ctx, hostsOf("web01", "web02"))
		errc <- err
	}()
	// Opening the FIFO waits for the validator to open it.
	if _, err := os.ReadFile(started); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	sameSnapshot(t, snapshot(t, f.objects), before)
	if f.runs("reload") != 1 {
		t.Errorf("reload ran %d times, want only the first", f.runs("reload"))
	}

	// A Sync waiting for another one honours its context too.
	o.lock(context.Background())
	defer o.unlock()
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := o.Sync(ctx2, hostsOf("web01")); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting Sync: %v", err)
	}
}

// TestSyncConcurrentCallsDoNotInterleave: the validator fails if another
// run of it, or a reload, is under way.
func TestSyncConcurrentCallsDoNotInterleave(t *testing.T) {
	f := newFakeNagios(t)
	lock := filepath.Join(f.dir, "lock")
	validate := script(t, f.dir, "exclusive", fmt.Sprintf(`mkdir %[1]s || { echo "Error: interleaved"; exit 1; }
sleep 0.02
rmdir %[1]s
`, lock))
	reload := script(t, f.dir, "exclusive-reload", fmt.Sprintf(`mkdir %[1]s || exit 1
rmdir %[1]s
`, lock))
	o := &Objects{Dir: f.objects, Validate: []string{validate}, Reload: []string{reload}}
	sets := [][]HostObject{hostsOf("a", "b"), hostsOf("b", "c"), hostsOf("c", "d", "e"), hostsOf("a")}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = o.Sync(context.Background(), sets[i%len(sets)])
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("sync %d: %v", i, err)
		}
	}
	// The folder holds exactly one of the sets.
	var files []string
	for name := range snapshot(t, f.objects) {
		if strings.HasSuffix(name, ".cfg") && name != CommandsFile {
			files = append(files, strings.TrimSuffix(name, ".cfg"))
		}
	}
	slices.Sort(files)
	found := false
	for _, s := range sets {
		var names []string
		for _, h := range s {
			names = append(names, h.Name)
		}
		slices.Sort(names)
		found = found || slices.Equal(names, files)
	}
	if !found {
		t.Errorf("folder holds %v, none of the sets", files)
	}
}

// TestSyncClearsLeftoverTemps: temporary files of a crashed Sync go.
func TestSyncClearsLeftoverTemps(t *testing.T) {
	f := newFakeNagios(t)
	if err := os.MkdirAll(f.objects, 0o755); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(f.objects, tempPrefix+"123.tmp")
	if err := os.WriteFile(left, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustSync(t, f.objectsFor(), hostsOf("web01"))
	if _, err := os.Stat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("leftover temp file: %v", err)
	}
	for name := range snapshot(t, f.objects) {
		if strings.HasSuffix(name, ".tmp") {
			t.Errorf("temp file %s stayed", name)
		}
	}
}

func equalResult(a, b SyncResult) bool {
	return slices.Equal(a.Written, b.Written) && slices.Equal(a.Removed, b.Removed) &&
		slices.Equal(a.Foreign, b.Foreign) && a.Reloaded == b.Reloaded
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
