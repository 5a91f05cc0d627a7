package e2e

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const wrongPassword = "wrong-Pa55word-e2e"

// TestWrongPasswordPicketSendToNSCA: the real nsca drops packets sealed with
// the wrong password. The client cannot know (nsca never answers), so picket
// send reports success like send_nsca. A correct send afterwards bounds the
// wait: nsca in single mode serves connections in order.
func TestWrongPasswordPicketSendToNSCA(t *testing.T) {
	needE2E(t)
	n := startNSCA(t, 14, password)
	bad := checkResult{Host: "intruder", Service: "svc", RC: 2, Output: "must not arrive"}
	good := checkResult{Host: "web01", Service: "svc", RC: 0, Output: "arrives"}

	r := runPicketSend(t, input(bad), sendArgs(n.Port, sendNSCAConfig(t, 14, wrongPassword))...)
	if r.Code != 0 || r.Stdout != sentOK(1) {
		t.Errorf("picket send with a wrong password: want exit 0 and %q as send_nsca, got %v", sentOK(1), r)
	}
	r = runPicketSend(t, input(good), sendArgs(n.Port, sendNSCAConfig(t, 14, password))...)
	if r.Code != 0 {
		t.Fatalf("picket send: %v", r)
	}
	waitResults(t, "nsca command file", n.CommandFile, good)
}

// TestWrongPasswordSendNSCAToPicketServer: picket server drops packets with
// the wrong password or method and says so in its log, naming the client and
// never the password.
func TestWrongPasswordSendNSCAToPicketServer(t *testing.T) {
	needE2E(t)
	s := startPicketServer(t, picketServerConfig{Encryption: "rijndael128", Password: password})
	bad := checkResult{Host: "intruder", Service: "svc", RC: 2, Output: "must not arrive"}
	good := checkResult{Host: "web01", Service: "svc", RC: 0, Output: "arrives"}

	for _, c := range []struct {
		name     string
		method   int
		password string
	}{
		{"wrong_password", 14, wrongPassword},
		{"wrong_method", 3, password},
	} {
		r := runSendNSCA(t, s.Port, sendNSCAConfig(t, c.method, c.password), input(bad))
		if r.Code != 0 {
			t.Fatalf("%s: send_nsca: %v", c.name, r)
		}
	}
	r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 14, password), input(good))
	if r.Code != 0 {
		t.Fatalf("send_nsca: %v", r)
	}
	waitResults(t, "command file", s.CommandFile, good)

	// The bad connections were served concurrently with the good one:
	// wait for both rejections before looking at the file again.
	const reason = "wrong password or encryption method"
	deadline := time.Now().Add(pollDeadline)
	for strings.Count(s.Log.String(), reason) < 2 && time.Now().Before(deadline) {
		time.Sleep(pollEvery)
	}
	log := s.Log.String()
	var rejected int
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "rejected") && strings.Contains(l, "client=127.0.0.1:") && strings.Contains(l, reason) {
			rejected++
		}
	}
	if rejected != 2 {
		t.Errorf("want 2 log lines with %q, %q and %q, got %d; log:\n%s", "rejected", "client=127.0.0.1:", reason, rejected, log)
	}
	waitResults(t, "command file", s.CommandFile, good)
	for _, pw := range []string{password, wrongPassword} {
		if strings.Contains(log, pw) {
			t.Errorf("the log shows a password (%q):\n%s", pw, log)
		}
	}
}

// TestStalledClientDoesNotBlockOthers: a client that stops half-way through
// a packet delays nobody else. (nsca --single would serve no one until that
// connection timed out; design.md §4. Not tested here.)
func TestStalledClientDoesNotBlockOthers(t *testing.T) {
	needE2E(t)
	// A read timeout far beyond the test, so that only picket's design, not
	// its timeout, can let the other client through.
	s := startPicketServer(t, picketServerConfig{Encryption: "rijndael128", Password: password, Extra: "read_timeout = \"10m\"\n"})

	stalled, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.SetReadDeadline(time.Now().Add(pollDeadline))
	if _, err := io.ReadFull(stalled, make([]byte, 132)); err != nil {
		t.Fatalf("read init packet: %v", err)
	}
	half := make([]byte, 4304/2)
	rand.Read(half)
	if _, err := stalled.Write(half); err != nil {
		t.Fatal(err)
	}

	results := []checkResult{
		{Host: "a", Service: "s1", RC: 0, Output: "one"},
		{Host: "b", Service: "s2", RC: 1, Output: "two"},
		{Host: "c", RC: 2, Output: "three"},
	}
	r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 14, password), input(results...))
	if r.Code != 0 || r.Stdout != sentOK(3) {
		t.Fatalf("send_nsca: %v", r)
	}
	waitResults(t, "command file", s.CommandFile, results...)

	// The stalled connection is still open: the server has neither closed
	// it nor sent anything more.
	stalled.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	n, err := stalled.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("stalled connection: want it still open (read timeout), got %d bytes, %v", n, err)
	}
}

// TestFIFOWithoutReader: Nagios' command FIFO with no reader (Nagios down)
// makes picket server log the problem and hold the results, which arrive once
// a reader opens the FIFO. (nsca drops them silently.)
func TestFIFOWithoutReader(t *testing.T) {
	needE2E(t)
	fifo := filepath.Join(t.TempDir(), "nagios.cmd")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startPicketServer(t, picketServerConfig{Encryption: "xor", Password: password, CommandFile: fifo})
	results := []checkResult{
		{Host: "q1", Service: "svc", RC: 0, Output: "queued one"},
		{Host: "q2", RC: 1, Output: "queued two\nlong"},
		{Host: "q3", Service: "svc", RC: 2, Output: "queued three"},
	}
	r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 1, password), input(results...))
	if r.Code != 0 {
		t.Fatalf("send_nsca: %v", r)
	}
	line := waitLog(t, s.daemon, fifo, "no process has the command pipe open for reading")
	t.Logf("picket server logged: %s", line)

	// Nagios opens its FIFO read-write, so it never sees end of file.
	f, err := os.OpenFile(fifo, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := normalize(t, readFIFOLines(t, f, len(results)))
	checkLines(t, "FIFO", got, lines(results...))
	waitLog(t, s.daemon, "writable again", fifo)
}

// readFIFOLines reads from f until it has n complete lines.
func readFIFOLines(t *testing.T, f *os.File, n int) []string {
	t.Helper()
	if err := f.SetReadDeadline(time.Now().Add(pollDeadline)); err != nil {
		t.Fatal(err)
	}
	var data []byte
	buf := make([]byte, 64<<10)
	for bytes.Count(data, []byte("\n")) < n {
		m, err := f.Read(buf)
		data = append(data, buf[:m]...)
		if err != nil {
			t.Fatalf("read FIFO: %v; got so far:\n%s", err, data)
		}
	}
	return splitLines(data)
}

// TestCheckTCPProbe: Nagios sites commonly watch port 5667 with check_tcp.
// Its probes must cost picket server no warning and no rejected packet.
func TestCheckTCPProbe(t *testing.T) {
	needE2E(t)
	checkTCP := peer(t, "/usr/lib/nagios/plugins/check_tcp")
	s := startPicketServer(t, picketServerConfig{Encryption: "xor", Password: password})
	for range 3 {
		r := run(t, nil, checkTCP, "-H", "127.0.0.1", "-p", strconv.Itoa(s.Port))
		if r.Code != 0 || !strings.Contains(r.Stdout, "TCP OK") {
			t.Fatalf("check_tcp: %v", r)
		}
	}
	want := []checkResult{{Host: "after-probe", Service: "svc", RC: 0, Output: "still fine"}}
	if r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 1, password), input(want...)); r.Code != 0 {
		t.Fatalf("send_nsca: %v", r)
	}
	waitResults(t, "after probes", s.CommandFile, want...)
	if strings.Contains(s.Log.String(), "level=WARN") {
		t.Errorf("probes caused warnings:\n%s", s.Log.String())
	}
}

// A full command-file queue (Nagios stopped reading) drops results on the
// server: every one is counted, logged with how many, when they were
// checked and for which hosts, and reported CRITICAL on the server's own
// service, which reaches Nagios once it reads again.
func TestServerQueueFullIsCountedAndReported(t *testing.T) {
	needE2E(t)
	fifo := filepath.Join(t.TempDir(), "nagios.cmd")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startPicketServer(t, picketServerConfig{Encryption: "xor", Password: password, CommandFile: fifo,
		Extra: "queue_size = 10\nreport_host = \"central\"\nreport_interval = \"10s\"\n"})
	var results []checkResult
	for i := range 25 {
		results = append(results, checkResult{Host: fmt.Sprintf("web%d", i%2), Service: "svc", RC: 0, Output: fmt.Sprintf("result %d", i)})
	}
	if r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 1, password), input(results...)); r.Code != 0 {
		t.Fatalf("send_nsca: %v", r)
	}
	waitLog(t, s.daemon, "command file queue is full")

	f, err := os.OpenFile(fifo, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := readFIFOLines(t, f, 10)
	if len(got) != 10 || !strings.Contains(got[0], "result 0") {
		t.Fatalf("the queue held %d lines, first %q; want results 0..9", len(got), got[0])
	}
	// One more result is taken again, which ends the run of drops.
	if r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 1, password), input(checkResult{Host: "web0", Service: "svc", Output: "after"})); r.Code != 0 {
		t.Fatalf("send_nsca: %v", r)
	}
	line := waitLog(t, s.daemon, "took results again", "dropped=15")
	if !strings.Contains(line, "web0 8, web1 7") && !strings.Contains(line, "web1 8, web0 7") {
		t.Errorf("the log does not say which hosts lost how many: %s", line)
	}
	report := ""
	for report == "" {
		for _, l := range readFIFOLines(t, f, 1) {
			if strings.Contains(l, ";central;picket_server;") {
				report = l
			}
		}
	}
	if !strings.Contains(report, "PROCESS_SERVICE_CHECK_RESULT;central;picket_server;2;PICKET SERVER CRITICAL - 15 results dropped") {
		t.Errorf("server report: %q", report)
	}
}
