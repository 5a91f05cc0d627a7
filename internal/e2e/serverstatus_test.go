package e2e

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serverStatus is what `picket server status --json` prints, as far as
// these tests read it.
type serverStatus struct {
	PID       int `json:"pid"`
	Listeners []struct {
		Name, Address, State string
	} `json:"listeners"`
	NSCA *struct {
		Received uint64 `json:"received"`
		Written  uint64 `json:"written"`
		Rate1m   struct {
			PerMinute float64 `json:"per_minute"`
		} `json:"rate_1m"`
		Rejected map[string]uint64 `json:"rejected"`
	} `json:"nsca"`
}

// picket server status against a real running picket server: a result
// from Debian's send_nsca is counted as received; one sealed with a wrong
// password and a packet cut short are counted as rejected, by reason.
// Another user is refused by the socket's folder and, where that was
// opened up, by the server's check of who connects. Stopped, the server is
// said not to run, with exit 2.
func TestServerStatus(t *testing.T) {
	needE2E(t)
	s := startPicketServer(t, picketServerConfig{Encryption: "rijndael128", Password: password})
	cfg := filepath.Join(s.Dir, "server.toml")

	good := checkResult{Host: "web01", Service: "disk", RC: 0, Output: "DISK OK"}
	if r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 14, password), input(good)); r.Code != 0 {
		t.Fatalf("send_nsca: %v", r)
	}
	bad := checkResult{Host: "intruder", Service: "svc", RC: 2, Output: "must not arrive"}
	if r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 14, wrongPassword), input(bad)); r.Code != 0 {
		t.Fatalf("send_nsca with a wrong password: %v", r)
	}
	sendCutShort(t, s.Addr)
	waitResults(t, "command file", s.CommandFile, good)

	// The rejections are counted as their connections end: poll.
	var st serverStatus
	deadline := time.Now().Add(pollDeadline)
	for {
		r := run(t, nil, picketBin, "server", "status", "--config", cfg, "--json")
		if r.Code != 0 {
			t.Fatalf("picket server status --json: %v", r)
		}
		st = serverStatus{}
		if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil || st.NSCA == nil {
			t.Fatalf("picket server status --json: %v\n%s", err, r.Stdout)
		}
		rej := st.NSCA.Rejected
		if rej["bad_version"]+rej["bad_crc"] == 1 && rej["short"] == 1 && st.NSCA.Written == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed 1 wrong password, 1 cut short and 1 written:\n%s", r.Stdout)
		}
		time.Sleep(pollEvery)
	}
	n := st.NSCA
	if n.Received != 1 || n.Rate1m.PerMinute <= 0 {
		t.Errorf("received %d (want 1), %.1f a minute", n.Received, n.Rate1m.PerMinute)
	}
	for reason, count := range n.Rejected {
		if want := map[string]uint64{"short": 1}[reason]; count != want && reason != "bad_version" && reason != "bad_crc" {
			t.Errorf("rejected %s = %d, want %d", reason, count, want)
		}
	}
	if st.PID != s.cmd.Process.Pid {
		t.Errorf("pid %d, the server's is %d", st.PID, s.cmd.Process.Pid)
	}
	sock := filepath.Join(s.Dir, "state", "control.sock")
	want := map[string]string{"nsca": s.Addr, "control": sock}
	for _, l := range st.Listeners {
		if want[l.Name] != l.Address || l.State != "up" {
			t.Errorf("listener %+v, want %s up", l, want[l.Name])
		}
		delete(want, l.Name)
	}
	if len(want) > 0 {
		t.Errorf("no listener %v in the status", want)
	}
	text := run(t, nil, picketBin, "server", "status", "--config", cfg)
	for _, line := range []string{"NSCA: 1 results received", "short  ", "control   " + sock} {
		if !strings.Contains(text.Stdout, line) {
			t.Errorf("picket server status lacks %q:\n%s", line, text.Stdout)
		}
	}

	serverStatusRefusesNobody(t, s, cfg, sock)

	s.Stop()
	off := run(t, nil, picketBin, "server", "status", "--config", cfg)
	if off.Code != 2 || !strings.Contains(off.Stdout, "picket server is not running (nothing answers on "+sock+")") {
		t.Errorf("picket server status with the server stopped: %v", off)
	}
}

// sendCutShort sends the start of a packet and hangs up, as a client
// that dies mid-packet does.
func sendCutShort(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, pollDeadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(pollDeadline))
	if _, err := io.ReadFull(c, make([]byte, 132)); err != nil {
		t.Fatalf("init packet: %v", err)
	}
	if _, err := c.Write(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c) // the server hangs up
}

// serverStatusRefusesNobody runs picket server status as the user nobody:
// the socket's 0700 folder keeps them out; opened up by hand, the server
// itself refuses them.
func serverStatusRefusesNobody(t *testing.T, s *picketServer, cfg, sock string) {
	t.Helper()
	binDir, err := os.MkdirTemp("", "picket-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	os.Chmod(binDir, 0o755)
	data, err := os.ReadFile(picketBin)
	if err != nil {
		t.Fatal(err)
	}
	bin := writeFile(t, filepath.Join(binDir, "picket"), string(data), 0o755)
	for d := s.Dir; d != "/" && d != "/tmp"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // so nobody can read the config on the way
	}
	os.Chmod(cfg, 0o644) // it names files, it holds no secret
	nobody := func() procResult {
		cmd := exec.Command("su", "-s", "/bin/sh", "nobody", "-c", "exec "+bin+" server status --config "+cfg)
		out, _ := cmd.CombinedOutput()
		return procResult{Code: cmd.ProcessState.ExitCode(), Stderr: string(out)}
	}
	if r := nobody(); r.Code != 2 || !strings.Contains(r.Stderr, "permission denied") {
		t.Errorf("another user got past the 0700 folder: %v", r)
	}
	os.Chmod(filepath.Dir(sock), 0o777)
	os.Chmod(sock, 0o777)
	if r := nobody(); r.Code != 2 || !strings.Contains(r.Stderr, "refused: only the user") {
		t.Errorf("another user with the socket opened up: %v", r)
	}
	waitLog(t, s.daemon, "control channel: refused a request from another user")
}
