package packagetest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Built by TestMain: the repository root and picket for each packaged OS.
var (
	repoRoot   string
	linuxBin   string // linux/<GOARCH of the test machine>
	windowsBin string // windows/amd64
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if testing.Short() {
		return m.Run() // every test skips itself through needPackaging
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "packagetest: go env GOMOD:", err)
		return 1
	}
	repoRoot = filepath.Dir(strings.TrimSpace(string(out)))
	dir, err := os.MkdirTemp("", "picket-packagetest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "packagetest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	linuxBin = filepath.Join(dir, "linux", "picket")
	windowsBin = filepath.Join(dir, "windows", "picket.exe")
	for _, b := range []struct{ goos, goarch, out string }{
		{"linux", runtime.GOARCH, linuxBin},
		{"windows", "amd64", windowsBin},
	} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=1.2.3-test", "-o", b.out, "./cmd/picket")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+b.goos, "GOARCH="+b.goarch)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "packagetest: go build %s/%s: %v\n%s", b.goos, b.goarch, err, out)
			return 1
		}
	}
	return m.Run()
}

// needPackaging skips under -short and fails when TestMain built nothing.
func needPackaging(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("packagetest: builds and installs packages; not run with -short")
	}
	if linuxBin == "" {
		tb.Fatal("packagetest: picket was not built")
	}
}

// tool finds a command in PATH or /usr/sbin. A missing tool fails the test:
// these tests exist to run it.
func tool(tb testing.TB, name, debianPackage string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
		return p
	}
	tb.Fatalf("%s not found: install Debian's %s package (or run .ci/run)", name, debianPackage)
	return ""
}

// commandDeadline bounds any one command; a hung tool fails instead of
// eating CI's time. It is a deadline, not an assertion about speed.
const commandDeadline = 5 * time.Minute

// run runs a command in dir with extra environment and returns its stdout.
// A failure stops the test with everything the command printed.
func run(tb testing.TB, dir string, env []string, name string, args ...string) string {
	tb.Helper()
	out, errOut, err := runErr(tb, dir, env, name, args...)
	if err != nil {
		tb.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// runErr is run for commands whose failure the test inspects.
func runErr(tb testing.TB, dir string, env []string, name string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}
