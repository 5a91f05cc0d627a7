package icingatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
)

// InstallHint says how to get the peer these tests need.
const InstallHint = "install Debian's icinga2 (apt-get install --no-install-recommends icinga2)"

// ErrNotInstalled is returned by [Start] when no icinga2 binary is found.
var ErrNotInstalled = errors.New("icinga2 not found in PATH or /usr/sbin: " + InstallHint)

// Names every instance uses.
const (
	// NodeName is the instance's node name and the only name in its server
	// certificate: clients verifying TLS must use it as server name, since
	// they connect to 127.0.0.1.
	NodeName = "picket-icinga-test"
	// User is the API user with a password (Instance.Password).
	User = "picket"
	// CertUser is the API user authenticated by the client certificate
	// Instance.ClientCert, whose common name is ClientCN.
	CertUser = "picket-cert"
	ClientCN = "picket-client"
	// HostTemplate and ServiceTemplate are passive-only templates: Icinga
	// never runs a check of its own on these objects, so nothing but the
	// results a test sends changes them.
	HostTemplate    = "picket-host"
	ServiceTemplate = "picket-service"
	// FreshServiceTemplate is a passive service with freshness: when no
	// result arrives within the last result's ttl (or check_interval, one
	// day, without ttl), Icinga sets it UNKNOWN "No Passive Check Result
	// Received."
	FreshServiceTemplate = "picket-service-fresh"
)

// Time bounds for the daemon: deadlines for what normally takes a second or
// two, never assertions about speed.
const (
	readyDeadline = 60 * time.Second
	stopGrace     = 30 * time.Second
	pollEvery     = 50 * time.Millisecond
)

// Options shape a new instance.
type Options struct {
	// Objects is Icinga 2 configuration appended to the generated one: the
	// hosts, services and dependencies a test needs from the start.
	Objects string
}

// Instance is one private icinga2 daemon and its directory.
type Instance struct {
	URL        string // https://127.0.0.1:PORT, the API's base URL
	ServerName string // the TLS name to verify (NodeName)
	CAFile     string // the instance's CA certificate (PEM)
	User       string
	Password   string
	ClientCert string // PEM certificate of CertUser, signed by the CA
	ClientKey  string // its key (mode 0600)
	Dir        string // everything the instance owns

	bin      string
	port     int
	mu       sync.Mutex
	proc     *daemon
	queryCli *queryClient
}

// daemon is one run of icinga2: the umbrella process we started, reaped by
// a goroutine that closes done.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Must starts an instance for one test and closes it when the test ends.
// A missing icinga2 fails the test with InstallHint.
func Must(tb testing.TB, opts Options) *Instance {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*readyDeadline)
	defer cancel()
	in, err := Start(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := in.Close(); err != nil {
			tb.Error(err)
		}
	})
	return in
}

// Start creates the directory, the CA and certificates, the configuration,
// and starts icinga2; it returns once GET /v1 answers 200. On error nothing
// is left running or on disk.
func Start(ctx context.Context, opts Options) (_ *Instance, err error) {
	bin, err := findBinary("/usr/sbin/icinga2")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "picket-icinga-")
	if err != nil {
		return nil, fmt.Errorf("icingatest: %w", err)
	}
	in := &Instance{Dir: dir, bin: bin, User: User, ServerName: NodeName}
	defer func() {
		if err != nil {
			in.Close()
		}
	}()
	for _, sub := range []string{"etc", "data", "log", "cache", "spool", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("icingatest: %w", err)
		}
	}
	if err := in.makePKI(ctx); err != nil {
		return nil, err
	}
	if in.Password, err = randomHex(16); err != nil {
		return nil, err
	}
	if in.queryCli, err = newQueryClient(in); err != nil {
		return nil, err
	}
	// A port free a moment ago may be taken before icinga2 binds it:
	// then try another.
	for attempt := 1; ; attempt++ {
		if in.port, err = freePort(); err != nil {
			return nil, err
		}
		in.URL = "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(in.port))
		if err := in.writeConfig(opts); err != nil {
			return nil, err
		}
		err = in.Restart(ctx)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			return in, err
		}
	}
}

var errPortTaken = errors.New("icingatest: port taken")

// Restart starts icinga2 again from the same directory and port (after
// Stop), keeping its state: the way to end an outage in a test. It returns
// once the API answers.
func (in *Instance) Restart(ctx context.Context) error {
	in.mu.Lock()
	running := in.proc != nil
	in.mu.Unlock()
	if running {
		return errors.New("icingatest: restart: icinga2 is still running; Stop it first")
	}
	os.Remove(in.pidFile())
	out, err := os.OpenFile(filepath.Join(in.Dir, "log", "daemon.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("icingatest: %w", err)
	}
	cmd := exec.Command(in.bin, append([]string{"daemon", "-c", in.confFile()}, in.defines()...)...)
	cmd.Stdout, cmd.Stderr = out, out
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("icingatest: start icinga2: %w", err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		out.Close()
		close(d.done)
	}()
	in.mu.Lock()
	in.proc = d
	in.mu.Unlock()
	if err := in.waitReady(ctx, d); err != nil {
		in.Stop()
		return err
	}
	return nil
}

// waitReady polls GET /v1 until it answers 200, the daemon exits, or ctx
// or the deadline ends.
func (in *Instance) waitReady(ctx context.Context, d *daemon) error {
	ctx, cancel := context.WithTimeout(ctx, readyDeadline)
	defer cancel()
	for {
		code, err := in.queryCli.status(ctx, "/v1")
		if err == nil && code == 200 {
			return nil
		}
		select {
		case <-d.done:
			tail := in.logTail()
			if strings.Contains(tail, "Cannot bind") {
				return fmt.Errorf("%w: %d", errPortTaken, in.port)
			}
			return fmt.Errorf("icingatest: icinga2 exited before its API answered (%v); log:\n%s", d.err, tail)
		case <-ctx.Done():
			return fmt.Errorf("icingatest: waiting for GET /v1 (last: %d %v): %w; log:\n%s", code, err, ctx.Err(), in.logTail())
		case <-time.After(pollEvery):
		}
	}
}

// Stop ends the daemon: SIGTERM to the pid in its run directory's
// icinga2.pid (the umbrella process, which stops its worker and waits for
// it, so the state is saved), and SIGKILL of the process group if it has not
// exited after a grace period. Stopping a stopped instance does nothing.
func (in *Instance) Stop() error {
	in.mu.Lock()
	d := in.proc
	in.proc = nil
	in.mu.Unlock()
	if d == nil {
		return nil
	}
	started := d.cmd.Process.Pid
	pid, err := readPid(in.pidFile())
	if err != nil {
		// The pid file is written once the configuration is loaded; an
		// instance stopped earlier is signalled through the pid we started.
		pid = started
	}
	if pid != started {
		// Only the process we started may be signalled.
		return fmt.Errorf("icingatest: %s names pid %d, but the icinga2 started was %d: not signalling it",
			in.pidFile(), pid, started)
	}
	var stopErr error
	if err := terminate(pid); err != nil {
		stopErr = fmt.Errorf("icingatest: SIGTERM %d: %w", pid, err)
	}
	select {
	case <-d.done:
	case <-time.After(stopGrace):
		stopErr = fmt.Errorf("icingatest: icinga2 (pid %d) ignored SIGTERM for %v; killed its process group", pid, stopGrace)
		killGroup(started)
		d.cmd.Process.Kill()
		<-d.done
	}
	// The umbrella exits after its worker; anything of the group still
	// around (a spawn helper on its way out) is ours to end.
	killGroup(started)
	return stopErr
}

// Close stops the daemon and removes the instance's directory.
func (in *Instance) Close() error {
	err := in.Stop()
	if in.queryCli != nil {
		in.queryCli.close()
	}
	if rmErr := os.RemoveAll(in.Dir); rmErr != nil && err == nil {
		err = fmt.Errorf("icingatest: %w", rmErr)
	}
	return err
}

// Pid is the pid of the running daemon's umbrella process, or 0.
func (in *Instance) Pid() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.proc == nil {
		return 0
	}
	return in.proc.cmd.Process.Pid
}

func (in *Instance) pidFile() string  { return filepath.Join(in.Dir, "run", "icinga2.pid") }
func (in *Instance) confFile() string { return filepath.Join(in.Dir, "etc", "icinga2.conf") }

// defines are the options every icinga2 command of this instance needs: its
// own directories, and the current user (as root without RunAsUser, icinga2
// switches to the nagios user and cannot write our directories).
func (in *Instance) defines() []string {
	uname, gname := "root", "root"
	if u, err := user.Current(); err == nil {
		uname = u.Username
		if g, err := user.LookupGroupId(u.Gid); err == nil {
			gname = g.Name
		}
	}
	d := []string{"-DConfiguration.RunAsUser=" + uname, "-DConfiguration.RunAsGroup=" + gname}
	for key, sub := range map[string]string{"ConfigDir": "etc", "DataDir": "data", "LogDir": "log",
		"CacheDir": "cache", "SpoolDir": "spool", "InitRunDir": "run"} {
		d = append(d, "-DConfiguration."+key+"="+filepath.Join(in.Dir, sub))
	}
	return d
}

// logTail is the end of the daemon's output, for failure messages.
func (in *Instance) logTail() string {
	b, _ := os.ReadFile(filepath.Join(in.Dir, "log", "daemon.out"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// findBinary looks for icinga2 in PATH, then at sbin (Debian's place,
// often not in a user's PATH).
func findBinary(sbin string) (string, error) {
	if p, err := exec.LookPath("icinga2"); err == nil {
		return p, nil
	}
	p := sbin
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return p, nil
	}
	return "", ErrNotInstalled
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("icingatest: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("icingatest: %s holds no pid: %q", path, b)
	}
	return pid, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("icingatest: %w", err)
	}
	return hex.EncodeToString(b), nil
}
