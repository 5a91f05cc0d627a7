//go:build linux

package wintest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds for polling and for one Wine process. They are deadlines for
// things that take seconds, never assertions about speed.
const (
	pollEvery    = 100 * time.Millisecond
	pollDeadline = 60 * time.Second
	runDeadline  = 90 * time.Second
)

// lane is what TestMain set up once for every test.
var lane struct {
	err     error    // why the lane could not be set up
	root    string   // temp folder holding everything
	prefix  string   // WINEPREFIX
	driveC  string   // prefix/drive_c
	env     []string // environment of every Wine process
	picket  string   // picket.exe (Linux path), version 1.0.0
	wtool   string   // the helper plugin (Linux path)
	unitExe map[string]string
	repo    string // the module's root
}

// tools the lane needs, with the Debian package that brings each.
var laneTools = [][2]string{
	{"wine", "wine"}, {"wineboot", "wine"}, {"wineserver", "wine"},
	{"x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64"},
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // every test skips itself through needLane
	}
	start := time.Now()
	lane.err = setUp()
	if lane.err == nil {
		fmt.Fprintf(os.Stderr, "wintest: Wine prefix and Windows builds ready in %v\n", time.Since(start).Round(time.Second))
	}
	code := m.Run()
	tearDown()
	fmt.Fprintf(os.Stderr, "wintest: lane took %v\n", time.Since(start).Round(time.Second))
	os.Exit(code)
}

// needLane skips under -short and fails when the lane could not be set up.
func needLane(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("wintest: runs picket.exe under Wine; not run with -short")
	}
	if lane.err != nil {
		t.Fatalf("wintest: %v", lane.err)
	}
}

func setUp() error {
	for _, tl := range laneTools {
		if _, err := exec.LookPath(tl[0]); err != nil {
			return fmt.Errorf("%s not found: install Debian's %s package (scripts/test-peers.sh installs it)", tl[0], tl[1])
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return fmt.Errorf("go env GOMOD: %v", err)
	}
	lane.repo = filepath.Dir(string(bytes.TrimSpace(out)))
	if lane.root, err = os.MkdirTemp("", "picket-wintest-"); err != nil {
		return err
	}
	lane.prefix = filepath.Join(lane.root, "prefix")
	lane.driveC = filepath.Join(lane.prefix, "drive_c")
	lane.env = wineEnv(lane.prefix)

	// wineboot and the builds take about as long; run them side by side.
	var wg sync.WaitGroup
	var bootErr error
	wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		// Output to a file, not a pipe: services.exe, which wineboot
		// starts and the persistent wineserver keeps, inherits it.
		logPath := filepath.Join(lane.root, "wineboot.log")
		log, err := os.Create(logPath)
		if err != nil {
			bootErr = err
			return
		}
		defer log.Close()
		cmd := exec.CommandContext(ctx, "wineboot", "-i")
		cmd.Env, cmd.Stdout, cmd.Stderr = lane.env, log, log
		if err := cmd.Run(); err != nil {
			out, _ := os.ReadFile(logPath)
			bootErr = fmt.Errorf("wineboot -i: %v\n%s", err, out)
		}
	})
	buildErr := buildAll()
	wg.Wait()
	if err := errors.Join(bootErr, buildErr); err != nil {
		return err
	}
	// Then a persistent wineserver keeps services.exe up between the
	// tests' Wine processes, each of which would otherwise boot the prefix
	// anew (seconds) and start its auto-start services again. Started only
	// once wineboot's own server has gone, or two services.exe would share
	// the prefix. Its output goes nowhere: the daemon would hold a pipe.
	wait := exec.Command("wineserver", "-w")
	wait.Env = lane.env
	wait.Run()
	server := exec.Command("wineserver", "-p")
	server.Env = lane.env
	if err := server.Run(); err != nil {
		return fmt.Errorf("wineserver -p: %v", err)
	}
	// Go's runtime loads bcryptprimitives.dll from system32 only.
	shim := filepath.Join(lane.root, "bin", "bcryptprimitives.dll")
	sys32 := filepath.Join(lane.driveC, "windows", "system32", "bcryptprimitives.dll")
	if err := copyFile(shim, sys32); err != nil {
		return fmt.Errorf("install the ProcessPrng shim: %w", err)
	}
	return nil
}

// wineEnv is the environment of every Wine process: the private prefix,
// 64-bit, no display (nothing here draws), no Mono or Gecko installer, no
// desktop menu entries, and Wine's own chatter off.
func wineEnv(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "WINE") || k == "DISPLAY" || k == "WAYLAND_DISPLAY" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "WINEPREFIX="+prefix, "WINEARCH=win64", "WINEDEBUG=-all",
		"WINEDLLOVERRIDES=mscoree,mshtml=;winemenubuilder.exe=d")
}

// buildAll builds picket.exe, the helper plugin, the Windows unit tests
// and the ProcessPrng shim into root/bin.
func buildAll() error {
	bin := filepath.Join(lane.root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	lane.picket = filepath.Join(bin, "picket.exe")
	lane.wtool = filepath.Join(bin, "wtool.exe")
	if err := goBuild(lane.picket, "1.0.0", "./cmd/picket"); err != nil {
		return err
	}
	if err := goBuild(lane.wtool, "", "./internal/wintest/testdata/wtool"); err != nil {
		return err
	}
	lane.unitExe = map[string]string{}
	for _, pkg := range []string{"plugins", "internal/sysdir", "internal/secretfile"} {
		exe := filepath.Join(bin, filepath.Base(pkg)+".test.exe")
		cmd := exec.Command("go", "test", "-c", "-o", exe, "./"+pkg)
		cmd.Dir, cmd.Env = lane.repo, windowsGoEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go test -c ./%s for windows: %v\n%s", pkg, err, out)
		}
		lane.unitExe[pkg] = exe
	}
	src := filepath.Join(lane.repo, "internal", "wintest", "testdata")
	cmd := exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s",
		"-o", filepath.Join(bin, "bcryptprimitives.dll"),
		filepath.Join(src, "bcryptprimitives.c"), filepath.Join(src, "bcryptprimitives.def"), "-ladvapi32")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the ProcessPrng shim with mingw-w64: %v\n%s", err, out)
	}
	return nil
}

func windowsGoEnv() []string {
	return append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
}

// goBuild builds pkg for windows/amd64; version, if set, is picket's.
func goBuild(out, version, pkg string) error {
	args := []string{"build", "-trimpath", "-o", out}
	if version != "" {
		args = append(args, "-ldflags", "-X main.version="+version)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir, cmd.Env = lane.repo, windowsGoEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for windows: %v\n%s", pkg, err, out)
	}
	return nil
}

// tearDown stops every Windows process of the prefix (wineserver -k is
// scoped to WINEPREFIX) and removes the temp folder.
func tearDown() {
	if lane.prefix == "" {
		return
	}
	if _, err := os.Stat(lane.prefix); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "wineserver", "-k")
		cmd.Env = lane.env
		cmd.Run()
		cmd = exec.CommandContext(ctx, "wineserver", "-w")
		cmd.Env = lane.env
		cmd.Run()
		cancel()
	}
	os.RemoveAll(lane.root)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// winPath is the Windows name of a Linux path: C:\... inside drive_c,
// Z:\... (Wine's view of /) elsewhere.
func winPath(p string) string {
	if rel, err := filepath.Rel(lane.driveC, p); err == nil && !strings.HasPrefix(rel, "..") {
		return `C:\` + strings.ReplaceAll(rel, "/", `\`)
	}
	return `Z:` + strings.ReplaceAll(p, "/", `\`)
}

// testDir makes a fresh folder under C:\pt for one test and returns its
// Linux and Windows names. Removed with the prefix when the lane ends.
func testDir(t *testing.T) (linux, win string) {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	linux = filepath.Join(lane.driveC, "pt", name)
	os.RemoveAll(linux)
	if err := os.MkdirAll(linux, 0o755); err != nil {
		t.Fatal(err)
	}
	return linux, winPath(linux)
}

// writeFile writes a file the Windows side reads, failing the test on error.
func writeFile(t *testing.T, path string, content string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

// result is what one Wine process did.
type result struct {
	Code           int
	Stdout, Stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// wine runs a Windows program to its end under the lane's prefix. exe is a
// Linux path or a Windows name Wine finds (msiexec, cmd, reg).
func wine(t *testing.T, stdin []byte, exe string, args ...string) result {
	t.Helper()
	return wineEnvRun(t, nil, stdin, exe, args...)
}

// wineEnvRun is wine with extra environment variables.
func wineEnvRun(t *testing.T, extraEnv []string, stdin []byte, exe string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", append([]string{exe}, args...)...)
	cmd.Env = append(append([]string{}, lane.env...), extraEnv...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// A process the program left running (a service it started) may hold
	// its output open; its exit is what counts.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := result{Stdout: out.String(), Stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.Code = ee.ExitCode()
	case errors.Is(err, exec.ErrWaitDelay):
	default:
		t.Fatalf("wine %s %q: %v (deadline %v)\n%s", filepath.Base(exe), args, err, runDeadline, r)
	}
	return r
}

// proc is a long-running Windows process. Under Wine the pid of the `wine`
// launcher is the Windows process itself (wine execs into it), so a
// SIGKILL to that pid is a kill -9 of picket.exe.
type proc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	once sync.Once
}

func startWine(t *testing.T, exe string, args ...string) *proc {
	t.Helper()
	p := &proc{log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command("wine", append([]string{exe}, args...)...)
	p.cmd.Env = lane.env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

// kill sends SIGKILL to the process by its pid and waits for it.
func (p *proc) kill() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	})
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// syncBuffer collects a process's output while it runs.
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

// waitFor polls cond until it holds, failing the test with what() after
// pollDeadline.
func waitFor(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v: %s", pollDeadline, what())
		}
		time.Sleep(pollEvery)
	}
}
