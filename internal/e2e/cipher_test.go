package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cipher is one encryption method in scope: its number in send_nsca.cfg and
// nsca.cfg, and its name in picket's TOML.
type cipher struct {
	Method int
	Name   string
}

// ciphers are all the methods Debian's nsca 2.10 delivers.
var ciphers = []cipher{
	{0, "none"},
	{1, "xor"},
	{2, "des"},
	{3, "3des"},
	{4, "cast128"},
	{5, "cast256"},
	{6, "xtea"},
	{8, "blowfish"},
	{9, "twofish"},
	{10, "loki97"},
	{11, "rc2"},
	{14, "rijndael128"},
	{15, "rijndael192"},
	{16, "rijndael256"},
	{20, "serpent"},
	{23, "gost"},
	{26, "saferplus"},
}

// password is cut to the key of most ciphers and zero-padded to Blowfish's
// (56 bytes) and RC2's (128); the golden packets in nsca prove both rules
// for every cipher.
const password = "e2e-S3cret+pass/word-longer-than-any-key-0123456789"

// bigOutput is a plugin output of exactly n bytes, printable and free of
// characters the command file escapes.
func bigOutput(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "chunk%04d;", i)
	}
	return "BIG " + b.String()[:n-4]
}

// standardResults is the input set every cipher carries: a service result,
// a host result, multi-line output with backslashes, the longest output and
// the longest host and service names NSCA allows.
func standardResults() []checkResult {
	return []checkResult{
		{Host: "web01", Service: "HTTP", RC: 0, Output: "HTTP OK: 200 OK - 512 bytes in 0.004 s|time=0.004s;1;2;0 size=512B;;;0"},
		{Host: "web01", RC: 1, Output: "PING WARNING - Packet loss = 20%, RTA = 120.5 ms"},
		{Host: "fs01", Service: "Disks", RC: 2, Output: "DISK CRITICAL - C:\\ 97% used\nD:\\ 40% used\nshare \\\\fs01\\data ok|C=97%;80;90"},
		{Host: "web02", Service: "big output", RC: 2, Output: bigOutput(4095)},
		{Host: strings.Repeat("h", 63), Service: strings.Repeat("s", 127), RC: 3, Output: "UNKNOWN - longest names"},
	}
}

// TestCiphers sends the standard input set both ways for every cipher in
// scope: picket send into the real nsca daemon, and the real send_nsca into
// picket server. Each command file must hold exactly what nsca 2.10 writes.
func TestCiphers(t *testing.T) {
	needE2E(t)
	results := standardResults()
	for _, c := range ciphers {
		t.Run(fmt.Sprintf("%d-%s", c.Method, c.Name), func(t *testing.T) {
			t.Run("picket_send_to_nsca", func(t *testing.T) {
				picketSendToNSCA(t, c, results)
			})
			t.Run("send_nsca_to_picket_server", func(t *testing.T) {
				sendNSCAToPicketServer(t, c, results)
			})
		})
	}
}

func picketSendToNSCA(t *testing.T, c cipher, results []checkResult) []string {
	t.Helper()
	n := startNSCA(t, c.Method, password)
	cfg := sendNSCAConfig(t, c.Method, password)
	r := runPicketSend(t, input(results...), sendArgs(n.Port, cfg)...)
	if r.Code != 0 || r.Stdout != sentOK(len(results)) || r.Stderr != "" {
		t.Errorf("picket send: want exit 0 and %q, got %v", sentOK(len(results)), r)
	}
	return waitResults(t, "nsca command file", n.CommandFile, results...)
}

func sendNSCAToPicketServer(t *testing.T, c cipher, results []checkResult) []string {
	t.Helper()
	sc := picketServerConfig{Encryption: c.Name, Password: password}
	if c.Method == 0 {
		sc.Password = "" // no password_file needed without encryption
	}
	s := startPicketServer(t, sc)
	cfg := sendNSCAConfig(t, c.Method, password)
	r := runSendNSCA(t, s.Port, cfg, input(results...))
	if r.Code != 0 {
		t.Fatalf("send_nsca: %v", r)
	}
	got := waitResults(t, "picket server command file", s.CommandFile, results...)
	if line := findLine(s.Log.String(), "level=WARN"); line != "" {
		t.Errorf("picket server warned: %s", line)
	}
	return got
}

// TestCrossCheck proves the expectations themselves: for one strong cipher,
// the real send_nsca into the real nsca writes the lines the other tests
// expect, and so do both pairings with picket.
func TestCrossCheck(t *testing.T) {
	needE2E(t)
	c := cipher{14, "rijndael128"}
	results := standardResults()

	var real []string
	t.Run("send_nsca_to_nsca", func(t *testing.T) {
		n := startNSCA(t, c.Method, password)
		r := runSendNSCA(t, n.Port, sendNSCAConfig(t, c.Method, password), input(results...))
		if r.Code != 0 || r.Stdout != sentOK(len(results)) {
			t.Fatalf("send_nsca: %v", r)
		}
		real = waitResults(t, "nsca command file", n.CommandFile, results...)
	})
	var viaSend, viaServer []string
	t.Run("picket_send_to_nsca", func(t *testing.T) {
		viaSend = picketSendToNSCA(t, c, results)
	})
	t.Run("send_nsca_to_picket_server", func(t *testing.T) {
		viaServer = sendNSCAToPicketServer(t, c, results)
	})
	if t.Failed() {
		return
	}
	checkLines(t, "picket send -> nsca vs send_nsca -> nsca", viaSend, real)
	checkLines(t, "send_nsca -> picket server vs send_nsca -> nsca", viaServer, real)
}

// TestConfigCheckAcceptsEveryCipher: `picket config check` takes each
// method's name and number in a target, as an operator copying nsca.cfg's
// setting would write it.
func TestConfigCheckAcceptsEveryCipher(t *testing.T) {
	needE2E(t)
	dir := t.TempDir()
	pw := writeFile(t, filepath.Join(dir, "pw"), password, 0o600)
	for _, c := range ciphers {
		for _, enc := range []string{c.Name, strconv.Itoa(c.Method)} {
			cfg := writeFile(t, filepath.Join(dir, "picket.toml"), fmt.Sprintf(
				"hostname = \"web01\"\n[[target]]\naddress = \"127.0.0.1:5667\"\nencryption = %q\npassword_file = %q\n"+
					"[[check]]\nservice = \"dummy\"\ncommand = \"check_dummy 0\"\n", enc, pw), 0o600)
			r := run(t, nil, picketBin, "config", "check", cfg)
			if r.Code != 0 || r.Stderr != "" {
				t.Errorf("encryption = %q:\n%v", enc, r)
			}
		}
	}
}
