package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestPicketSendConnectionRefused: a closed port is exit 2 and send_nsca's
// message, as the real send_nsca does on the same port.
func TestPicketSendConnectionRefused(t *testing.T) {
	needE2E(t)
	port := freePort(t) // closed again when freePort returns
	cfg := sendNSCAConfig(t, 1, password)
	in := input(checkResult{Host: "h", RC: 0, Output: "ok"})
	const msg = "Error: Could not connect to host 127.0.0.1"

	real := runSendNSCA(t, port, cfg, in)
	if real.Code != 2 || !strings.Contains(real.Stderr, msg) {
		t.Errorf("send_nsca (the reference): want exit 2 and %q on stderr, got %v", msg, real)
	}
	r := runPicketSend(t, in, sendArgs(port, cfg)...)
	if r.Code != 2 || !strings.HasPrefix(r.Stderr, msg) || r.Stdout != "" {
		t.Errorf("picket send: want exit 2 and stderr starting %q, got %v", msg, r)
	}
}

// silentServer accepts connections on 127.0.0.1 and never sends the init
// packet. It holds every connection until the test ends.
func silentServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// TestPicketSendTimeout: a server that never sends its init packet ends the
// session after -to seconds with send_nsca's message and exit 2.
func TestPicketSendTimeout(t *testing.T) {
	needE2E(t)
	port := silentServer(t)
	cfg := sendNSCAConfig(t, 1, password)
	in := input(checkResult{Host: "h", RC: 0, Output: "ok"})
	const msg = "Error: Timeout after 1 seconds\n"

	real := runSendNSCA(t, port, cfg, in, "-to", "1")
	if real.Code != 2 || !strings.Contains(real.Stderr, msg) {
		t.Errorf("send_nsca (the reference): want exit 2 and %q, got %v", msg, real)
	}
	r := runPicketSend(t, in, sendArgs(port, cfg, "-to", "1")...)
	if r.Code != 2 || r.Stdout != "" {
		t.Errorf("picket send: want exit 2 and %q, got %v", msg, r)
	}
	if r.Stderr != msg {
		t.Errorf("picket send: want stderr %q only, got %v", msg, r)
	}
}

// TestPicketSendOutcomes covers the other send_nsca behaviours against
// picket server: empty input, --quiet, and a bad record among good ones.
func TestPicketSendOutcomes(t *testing.T) {
	needE2E(t)
	s := startPicketServer(t, picketServerConfig{Encryption: "xor", Password: password})
	cfg := sendNSCAConfig(t, 1, password)
	var want []checkResult

	t.Run("empty_input", func(t *testing.T) {
		real := runSendNSCA(t, s.Port, cfg, nil)
		r := runPicketSend(t, nil, sendArgs(s.Port, cfg)...)
		if real.Code != 2 || real.Stdout != sentOK(0) {
			t.Errorf("send_nsca (the reference): want exit 2 and %q, got %v", sentOK(0), real)
		}
		if r.Code != 2 || r.Stdout != sentOK(0) || r.Stderr != "" {
			t.Errorf("picket send: want exit 2 and %q, got %v", sentOK(0), r)
		}
	})

	t.Run("quiet", func(t *testing.T) {
		res := []checkResult{{Host: "q1", Service: "svc", RC: 0, Output: "quiet one"}, {Host: "q2", RC: 1, Output: "quiet two"}}
		r := runPicketSend(t, input(res...), sendArgs(s.Port, cfg, "--quiet")...)
		if r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
			t.Errorf("picket send --quiet: want exit 0 and no output, got %v", r)
		}
		want = append(want, res...)
		waitResults(t, "command file", s.CommandFile, want...)
	})

	t.Run("bad_return_code", func(t *testing.T) {
		good1 := checkResult{Host: "b1", Service: "svc", RC: 0, Output: "before the bad one"}
		good2 := checkResult{Host: "b2", Service: "svc", RC: 2, Output: "after the bad one"}
		in := string(input(good1)) + "b1\tsvc\tnot-a-number\tbad record" + etb + string(input(good2))
		r := runPicketSend(t, []byte(in), sendArgs(s.Port, cfg)...)
		// send_nsca would send the bad record with return code 0 (atoi);
		// picket refuses it, says so, and exits non-zero.
		if r.Code == 0 || !strings.Contains(r.Stderr, "record 2") || !strings.Contains(r.Stderr, `"not-a-number"`) {
			t.Errorf("picket send: want a non-zero exit and record 2 reported on stderr, got %v", r)
		}
		want = append(want, good1, good2)
		waitResults(t, "command file", s.CommandFile, want...)
	})
}

// TestPicketSendAgentConfig: with --config, every [[target]] gets every
// result; here a picket server and the real nsca.
func TestPicketSendAgentConfig(t *testing.T) {
	needE2E(t)
	s := startPicketServer(t, picketServerConfig{Encryption: "xor", Password: password})
	n := startNSCA(t, 1, password)
	dir := t.TempDir()
	pw := writeFile(t, filepath.Join(dir, "nsca.secret"), password+"\n", 0o600)
	agent := writeFile(t, filepath.Join(dir, "picket.toml"), fmt.Sprintf(`
[[target]]
address = %q
encryption = "xor"
password_file = %q

[[target]]
address = %q
encryption = "xor"
password_file = %q
`, s.Addr, pw, n.Addr, pw), 0o600)

	results := []checkResult{
		{Host: "fan01", Service: "CPU", RC: 0, Output: "CPU OK - 3%|cpu=3%;80;90"},
		{Host: "fan01", RC: 0, Output: "UP"},
		{Host: "fan02", Service: "Mem", RC: 1, Output: "MEM WARNING\nswap 50%"},
	}
	r := runPicketSend(t, input(results...), "--config", agent)
	want := fmt.Sprintf("3 data packet(s) sent to %s successfully.\n3 data packet(s) sent to %s successfully.\n", s.Addr, n.Addr)
	if r.Code != 0 || r.Stdout != want || r.Stderr != "" {
		t.Errorf("picket send --config: want exit 0 and %q, got %v", want, r)
	}
	waitResults(t, "picket server command file", s.CommandFile, results...)
	waitResults(t, "nsca command file", n.CommandFile, results...)
}
