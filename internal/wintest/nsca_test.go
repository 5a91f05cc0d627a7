//go:build linux

package wintest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nscaPassword and nscaMethod are what every test's nsca daemon expects:
// picket's aes256 is nsca's method 14 (Rijndael-128 with a 256-bit key).
const (
	nscaPassword = "wine-lane-pw"
	nscaMethod   = 14
)

// nscaDaemon is Debian's nsca, in the foreground on 127.0.0.1, writing to
// a command file in its own folder.
type nscaDaemon struct {
	Port        int
	Dir         string
	CommandFile string
	cmd         *exec.Cmd
	done        chan struct{}
	log         *syncBuffer
}

// startNSCA starts the real nsca daemon on a free port (port 0) or on the
// given one (a restart after an outage).
func startNSCA(t *testing.T, dir string, port int) *nscaDaemon {
	t.Helper()
	return startNSCAMethod(t, dir, port, nscaMethod)
}

// startNSCAMethod is startNSCA with another decryption method (0: none).
func startNSCAMethod(t *testing.T, dir string, port, method int) *nscaDaemon {
	t.Helper()
	bin, err := exec.LookPath("nsca")
	if err != nil {
		bin = "/usr/sbin/nsca"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("nsca not found: install Debian's nsca package (scripts/test-peers.sh installs it)")
		}
	}
	n := &nscaDaemon{Dir: dir, CommandFile: filepath.Join(dir, "nagios.cmd")}
	if _, err := os.Stat(n.CommandFile); err != nil {
		writeFile(t, n.CommandFile, "", 0o600)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		n.Port = port
		if n.Port == 0 {
			n.Port = freePort(t)
		}
		cfg := filepath.Join(dir, "nsca.cfg")
		writeFile(t, cfg, fmt.Sprintf(`server_address=127.0.0.1
server_port=%d
pid_file=%s
nsca_user=%s
nsca_group=%s
debug=1
command_file=%s
alternate_dump_file=%s
append_to_file=1
aggregate_writes=0
max_packet_age=60
password=%s
decryption_method=%d
`, n.Port, filepath.Join(dir, "nsca.pid"), u.Username, g.Name, n.CommandFile, filepath.Join(dir, "dump"), nscaPassword, method), 0o600)
		n.log, n.done = &syncBuffer{}, make(chan struct{})
		n.cmd = exec.Command(bin, "-c", cfg, "-f", "--single")
		n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
		if err := n.cmd.Start(); err != nil {
			t.Fatalf("start nsca: %v", err)
		}
		done := n.done
		cmd := n.cmd
		go func() { cmd.Wait(); close(done) }()
		if err := n.waitAccept(); err == nil {
			t.Cleanup(n.Stop)
			return n
		} else if attempt >= 30 {
			n.Stop()
			t.Fatalf("nsca did not listen on 127.0.0.1:%d: %v\n%s", n.Port, err, n.log)
		}
		n.Stop()
		// A restart on a fixed port may meet the old socket still closing.
		time.Sleep(500 * time.Millisecond)
	}
}

// Stop kills the daemon by its pid and waits for it.
func (n *nscaDaemon) Stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Kill()
	<-n.done
}

func (n *nscaDaemon) waitAccept() error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			// Read the init packet and let the server hang up, so it logs
			// no reset.
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			io.Copy(io.Discard, c)
			c.Close()
			return nil
		}
		select {
		case <-n.done:
			return fmt.Errorf("nsca exited (%v)", n.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Results returns the service check results nsca wrote for host and
// service, each as "rc;output".
func (n *nscaDaemon) Results(t *testing.T, host, service string) []string {
	t.Helper()
	data, err := os.ReadFile(n.CommandFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	prefix := "PROCESS_SERVICE_CHECK_RESULT;" + host + ";" + service + ";"
	for _, line := range strings.Split(string(data), "\n") {
		if _, rest, ok := strings.Cut(line, "] "); ok && strings.HasPrefix(rest, prefix) {
			out = append(out, strings.TrimPrefix(rest, prefix))
		}
	}
	return out
}

// WaitResults waits until nsca holds at least n results for host and
// service and returns them.
func (n *nscaDaemon) WaitResults(t *testing.T, host, service string, count int) []string {
	t.Helper()
	var got []string
	waitFor(t, func() string {
		data, _ := os.ReadFile(n.CommandFile)
		return fmt.Sprintf("nsca holds %d of %d results for %s;%s; command file:\n%s\nnsca log:\n%s", len(got), count, host, service, data, n.log)
	}, func() bool {
		got = n.Results(t, host, service)
		return len(got) >= count
	})
	return got
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// agentConfig is a picket.toml for a host sending to nsca on port: the
// password file is made 0600 on the Linux side, the one way to give it a
// DACL under Wine that lets only its owner and SYSTEM read it.
//
// top holds top-level keys (before any table), tables more tables.
func agentConfig(t *testing.T, dir, host string, port int, top, tables string) (linux, win string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "nsca.secret"), nscaPassword+"\n", 0o600)
	linux = filepath.Join(dir, "picket.toml")
	writeFile(t, linux, fmt.Sprintf(`hostname = %q
spool_dir = '%s'
%s
[[target]]
address = "127.0.0.1:%d"
encryption = "aes256"
password_file = '%s'

%s`, host, winPath(filepath.Join(dir, "spool")), top, port, winPath(filepath.Join(dir, "nsca.secret")), tables), 0o644)
	return linux, winPath(linux)
}
