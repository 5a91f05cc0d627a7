package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/leaktest"
)

// Bounds for polling. They are deadlines for things that normally take
// milliseconds, never assertions about speed.
const (
	pollEvery    = 10 * time.Millisecond
	pollDeadline = 20 * time.Second
	runDeadline  = 60 * time.Second // any one client process
)

// picketBin is the picket binary TestMain builds.
var picketBin string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if testing.Short() {
		return m.Run() // every test skips itself through needE2E
	}
	dir, err := os.MkdirTemp("", "picket-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildPicket(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot build picket:", err)
		return 1
	}
	picketBin = bin
	return leaktest.HostStateUntouched(m.Run)
}

// buildPicket builds ./cmd/picket of the module these tests belong to.
func buildPicket(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	bin := filepath.Join(dir, "picket")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/picket")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// needE2E skips under -short (make unit runs without the peers) and fails if
// TestMain could not build picket.
func needE2E(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("e2e: needs the real peers; not run with -short")
	}
	if picketBin == "" {
		tb.Fatal("e2e: picket binary was not built")
	}
}

// peerPackages names the Debian package of each peer, for the failure
// message.
var peerPackages = map[string]string{
	"nsca":      "nsca",
	"send_nsca": "nsca-client",
	"nagios4":   "nagios4-core",
	"tinyproxy": "tinyproxy",

	"/usr/lib/nagios/plugins/check_tcp":   "monitoring-plugins-basic",
	"/usr/lib/nagios/plugins/check_dummy": "monitoring-plugins-basic",
}

// peer finds a real peer in PATH or /usr/sbin. A missing peer fails the
// test: these tests exist to run against it.
func peer(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return p
	}
	tb.Fatalf("%s not found: install Debian's %s package (or run .ci/run)", name, peerPackages[name])
	return ""
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// start helpers retry with another port if someone takes it meanwhile.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a process's output; tests read it while the process
// still writes.
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

// daemon is a long-running process under test.
type daemon struct {
	Name string
	Port int
	Addr string      // 127.0.0.1:Port
	Log  *syncBuffer // stdout and stderr
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been waited for
	once sync.Once
}

// Stop kills the process by its pid and waits for it. It is safe to call
// more than once; cleanup calls it too.
func (d *daemon) Stop() {
	d.once.Do(func() {
		d.cmd.Process.Kill()
		<-d.done
	})
}

// Exited reports whether the process has ended.
func (d *daemon) Exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// startDaemon runs the program that args(port) describes on a free port and
// waits until the port accepts connections. If the process exits first
// because the port was taken meanwhile, it tries another port.
func startDaemon(tb testing.TB, name, bin string, args func(port int) []string) *daemon {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		port := freePort(tb)
		d := startProcess(tb, name, bin, args(port)...)
		d.Port, d.Addr = port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		err := waitAccept(d)
		if err == nil {
			return d
		}
		if d.Exited() && attempt < 3 {
			// Most likely the port was taken between freePort and bind
			// (nsca says so only in syslog): try another.
			continue
		}
		d.Stop()
		tb.Fatalf("%s did not start listening on %s: %v\n%s output:\n%s", name, d.Addr, err, name, d.Log.String())
	}
}

// startProcess starts a long-running process that the test stops by pid
// (cleanup kills it if the test does not).
func startProcess(tb testing.TB, name, bin string, args ...string) *daemon {
	tb.Helper()
	d := &daemon{Name: name, Log: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.Log, d.Log
	if err := d.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	tb.Cleanup(d.Stop)
	return d
}

// waitAccept polls until d's port accepts a connection. The probe half-closes
// and reads until the server hangs up, which nsca and picket server do at
// once; a daemon that does not would hold each probe for pollDeadline.
func waitAccept(d *daemon) error {
	deadline := time.Now().Add(pollDeadline)
	for {
		c, err := net.DialTimeout("tcp", d.Addr, time.Second)
		if err == nil {
			// Hang up cleanly: say we are done, then read the init packet
			// and the server's close. Closing with the init packet unread
			// would reset the connection, which the server logs.
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(pollDeadline))
			io.Copy(io.Discard, c)
			c.Close()
			return nil
		}
		if d.Exited() {
			return fmt.Errorf("process exited (%v)", d.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(pollEvery)
	}
}

// writeFile writes a file with mode perm, and its folder if need be,
// failing the test on error.
func writeFile(tb testing.TB, path, content string, perm os.FileMode) string {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's perm is cut by umask
		tb.Fatal(err)
	}
	return path
}

// emptyCommandFile creates dir/nagios.cmd as an empty regular file.
func emptyCommandFile(tb testing.TB, dir string) string {
	tb.Helper()
	return writeFile(tb, filepath.Join(dir, "nagios.cmd"), "", 0o600)
}

// nscaDaemon is the real nsca daemon.
type nscaDaemon struct {
	*daemon
	Dir         string
	Config      string // its nsca.cfg
	CommandFile string
}

// currentUser names the user and group the tests run as, for daemons that
// would otherwise switch to their packaged accounts.
func currentUser(tb testing.TB) (userName, groupName string) {
	tb.Helper()
	u, err := user.Current()
	if err != nil {
		tb.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Username, g.Name
}

// nscaConfig renders an nsca.cfg for the daemon (and for picket server's
// --nsca-config), with the options the daemon needs to run unprivileged in
// dir in the foreground.
func nscaConfig(tb testing.TB, dir string, port, method int, password string) string {
	tb.Helper()
	userName, groupName := currentUser(tb)
	return fmt.Sprintf(`# written by picket's e2e tests
server_address=127.0.0.1
server_port=%d
pid_file=%s
nsca_user=%s
nsca_group=%s
debug=1
command_file=%s
alternate_dump_file=%s
append_to_file=1
aggregate_writes=0
max_packet_age=30
password=%s
decryption_method=%d
`, port, filepath.Join(dir, "nsca.pid"), userName, groupName,
		filepath.Join(dir, "nagios.cmd"), filepath.Join(dir, "dump"), password, method)
}

// startNSCA starts the real nsca daemon in single mode, in the foreground, on
// 127.0.0.1, writing to an empty nagios.cmd in a temp dir. Extra lines go at
// the end of its nsca.cfg, where they win: nsca keeps an option's last value.
func startNSCA(tb testing.TB, method int, password string, extra ...string) *nscaDaemon {
	tb.Helper()
	bin := peer(tb, "nsca")
	n := &nscaDaemon{Dir: tb.TempDir()}
	n.CommandFile = emptyCommandFile(tb, n.Dir)
	n.Config = filepath.Join(n.Dir, "nsca.cfg")
	n.daemon = startDaemon(tb, "nsca", bin, func(port int) []string {
		cfg := nscaConfig(tb, n.Dir, port, method, password) + strings.Join(extra, "")
		writeFile(tb, n.Config, cfg, 0o600)
		return []string{"-c", n.Config, "-f", "--single"}
	})
	return n
}

// picketServerConfig is the [nsca] section of a picket server config.
type picketServerConfig struct {
	Encryption  string // a method number or name
	Password    string // written to a 0600 password file unless empty
	CommandFile string // empty: an empty regular file in a temp dir
	Extra       string // more lines for the [nsca] section
}

// picketServer is a running `picket server`.
type picketServer struct {
	*daemon
	Dir         string
	CommandFile string
}

// startPicketServer writes a server.toml and runs `picket server --config`.
func startPicketServer(tb testing.TB, c picketServerConfig) *picketServer {
	tb.Helper()
	s := &picketServer{Dir: tb.TempDir(), CommandFile: c.CommandFile}
	if s.CommandFile == "" {
		s.CommandFile = emptyCommandFile(tb, s.Dir)
	}
	pwLine := ""
	if c.Password != "" {
		pw := writeFile(tb, filepath.Join(s.Dir, "pw"), c.Password, 0o600)
		pwLine = fmt.Sprintf("password_file = %q\n", pw)
	}
	cfg := filepath.Join(s.Dir, "server.toml")
	s.daemon = startDaemon(tb, "picket server", picketBin, func(port int) []string {
		// state_dir keeps the control socket in the test's folder.
		writeFile(tb, cfg, fmt.Sprintf("state_dir = %q\n\n[nsca]\nlisten = \"127.0.0.1:%d\"\nencryption = %q\n%scommand_file = %q\n%s",
			filepath.Join(s.Dir, "state"), port, c.Encryption, pwLine, s.CommandFile, c.Extra), 0o600)
		return []string{"server", "--config", cfg}
	})
	return s
}

// startPicketServerNSCAConfig runs `picket server --nsca-config` on an
// nsca.cfg written as for the nsca daemon.
func startPicketServerNSCAConfig(tb testing.TB, method int, password string) *picketServer {
	tb.Helper()
	s := &picketServer{Dir: tb.TempDir()}
	s.CommandFile = emptyCommandFile(tb, s.Dir)
	cfg := filepath.Join(s.Dir, "nsca.cfg")
	s.daemon = startDaemon(tb, "picket server", picketBin, func(port int) []string {
		writeFile(tb, cfg, nscaConfig(tb, s.Dir, port, method, password), 0o600)
		return []string{"server", "--nsca-config", cfg, "--state-dir", filepath.Join(s.Dir, "state")}
	})
	return s
}

// procResult is how a client process ended.
type procResult struct {
	Code           int
	Stdout, Stderr string
	CPU            time.Duration // user and system time, for benchmarks
}

func (r procResult) String() string {
	return fmt.Sprintf("exit %d\nstdout: %q\nstderr: %q", r.Code, r.Stdout, r.Stderr)
}

// run runs a client process to its end, feeding it stdin.
func run(tb testing.TB, stdin []byte, bin string, args ...string) procResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := procResult{Stdout: out.String(), Stderr: errb.String()}
	if ps := cmd.ProcessState; ps != nil {
		r.CPU = ps.UserTime() + ps.SystemTime()
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		tb.Fatalf("%s %v did not end within %v\n%v", bin, args, runDeadline, r)
	case errors.As(err, &ee) && ee.Exited():
		r.Code = ee.ExitCode()
	default:
		tb.Fatalf("%s %v: %v\n%v", bin, args, err, r)
	}
	return r
}

// sendNSCAConfig writes a send_nsca.cfg (mode 0600) into a temp dir.
func sendNSCAConfig(tb testing.TB, method int, password string) string {
	tb.Helper()
	return writeFile(tb, filepath.Join(tb.TempDir(), "send_nsca.cfg"),
		fmt.Sprintf("password=%s\nencryption_method=%d\n", password, method), 0o600)
}

// runSendNSCA runs the real send_nsca against 127.0.0.1:port.
func runSendNSCA(tb testing.TB, port int, cfg string, input []byte, extra ...string) procResult {
	tb.Helper()
	args := append([]string{"-H", "127.0.0.1", "-p", strconv.Itoa(port), "-c", cfg}, extra...)
	return run(tb, input, peer(tb, "send_nsca"), args...)
}

// runPicketSend runs `picket send` with the given arguments.
func runPicketSend(tb testing.TB, input []byte, args ...string) procResult {
	tb.Helper()
	return run(tb, input, picketBin, append([]string{"send"}, args...)...)
}

// sendArgs are picket send's send_nsca-style arguments for 127.0.0.1:port.
func sendArgs(port int, cfg string, extra ...string) []string {
	return append([]string{"-H", "127.0.0.1", "-p", strconv.Itoa(port), "-c", cfg}, extra...)
}

// waitLines polls path until it holds at least n complete lines and returns
// its lines. It fails the test if that takes longer than pollDeadline.
func waitLines(tb testing.TB, path string, n int) []string {
	tb.Helper()
	deadline := time.Now().Add(pollDeadline)
	for {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		if bytes.Count(data, []byte("\n")) >= n {
			return splitLines(data)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: waited %v for %d lines, it holds:\n%s", path, pollDeadline, n, data)
		}
		time.Sleep(pollEvery)
	}
}

// waitLog polls a daemon's log until it holds every one of parts on one
// line, and returns that line.
func waitLog(tb testing.TB, d *daemon, parts ...string) string {
	tb.Helper()
	deadline := time.Now().Add(pollDeadline)
	for {
		if line := findLine(d.Log.String(), parts...); line != "" {
			return line
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s log: waited %v for a line with %q; log:\n%s", d.Name, pollDeadline, parts, d.Log.String())
		}
		time.Sleep(pollEvery)
	}
}

// findLine returns the first line of text that contains every part.
func findLine(text string, parts ...string) string {
next:
	for _, line := range strings.Split(text, "\n") {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		return line
	}
	return ""
}

func splitLines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// sentOK is what send_nsca and picket send print on success.
func sentOK(n int) string {
	return fmt.Sprintf("%d data packet(s) sent to host successfully.\n", n)
}
