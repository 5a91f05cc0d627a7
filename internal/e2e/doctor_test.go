package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// picket doctor, the real binary, against a live picket server (which
// answers its probe), the real nsca daemon (which cannot), a dead port, a
// picket server whose certificate has expired, and a spool folder others
// can read.

// centralForDoctor is a picket server with NSCA (aes256, password
// "doctor-pw") and HTTPS externals signed with its own key, serving
// web01.toml, under the given certificate.
type centralForDoctor struct {
	*daemon
	Dir, CommandFile, HTTPAddr string
	PublicKey                  string // the config line keygen printed
}

func startCentralForDoctor(t *testing.T, certFile, keyFile string) *centralForDoctor {
	t.Helper()
	c := &centralForDoctor{Dir: t.TempDir()}
	key := run(t, nil, picketBin, "server", "keygen", "--key", filepath.Join(c.Dir, "externals.key"))
	if key.Code != 0 {
		t.Fatalf("picket server keygen: %v", key)
	}
	c.PublicKey = strings.TrimSpace(key.Stdout)
	writeFile(t, filepath.Join(c.Dir, "nsca.secret"), "doctor-pw\n", 0o600)
	writeFile(t, filepath.Join(c.Dir, "externals", "web01.toml"),
		"[[check]]\nservice = \"dummy\"\ncommand = \"check_dummy 0 fine\"\ninterval = \"1m\"\n", 0o644)
	c.CommandFile = emptyCommandFile(t, c.Dir)
	httpPort := freePort(t)
	c.HTTPAddr = net.JoinHostPort("127.0.0.1", fmt.Sprint(httpPort))
	cfg := filepath.Join(c.Dir, "server.toml")
	c.daemon = startDaemon(t, "picket server", picketBin, func(port int) []string {
		writeFile(t, cfg, fmt.Sprintf(`state_dir = %[1]q

[nsca]
listen = "127.0.0.1:%[2]d"
encryption = "aes256"
password_file = "%[1]s/nsca.secret"
command_file = %[3]q

[http]
listen = %[4]q
tls_cert = %[5]q
tls_key = %[6]q

[externals]
dir = "%[1]s/externals"
signing_key = "%[1]s/externals.key"
`, c.Dir, port, c.CommandFile, c.HTTPAddr, certFile, keyFile), 0o600)
		return []string{"server", "--config", cfg}
	})
	// The NSCA port is up; the HTTP one comes with it, but not
	// necessarily first.
	if err := waitAccept(&daemon{Name: c.Name, Addr: c.HTTPAddr, cmd: c.cmd, done: c.done}); err != nil {
		t.Fatalf("picket server's HTTPS on %s: %v\n%s", c.HTTPAddr, err, c.Log.String())
	}
	return c
}

// doctorConfig writes an agent config for host web01 with the given
// top-level settings and tables, its state in a private folder, and
// returns its path. $DIR in them is the config's folder.
func doctorConfig(t *testing.T, top, tables string) string {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "right.secret"), "doctor-pw\n", 0o600)
	writeFile(t, filepath.Join(dir, "wrong.secret"), "not-the-pw\n", 0o600)
	tables = strings.ReplaceAll(tables, "$DIR", dir)
	return writeFile(t, filepath.Join(dir, "picket.toml"), fmt.Sprintf(`hostname = "web01"
plugin_dirs = [%q]
state_dir = %q
%s

[[check]]
service = "dummy_local"
command = "check_dummy 0 local"
interval = "1m"

%s`, pluginDir, state, strings.ReplaceAll(top, "$DIR", dir), tables), 0o600)
}

// runDoctor runs picket doctor on cfg and returns its report lines.
func runDoctor(t *testing.T, cfg string) (procResult, []string) {
	t.Helper()
	r := run(t, nil, picketBin, "doctor", "--config", cfg, "--timeout", "5s")
	report, _, _ := strings.Cut(r.Stdout, "\n\n")
	return r, strings.Split(report, "\n")
}

func nscaTargetTable(addr, secret string) string {
	return fmt.Sprintf("[[target]]\naddress = %q\nencryption = \"aes256\"\npassword_file = \"$DIR/%s\"\n", addr, secret)
}

// wantLine fails the test unless exactly one line starts with prefix, and
// it holds every part.
func wantLine(t *testing.T, r procResult, lines []string, prefix string, parts ...string) {
	t.Helper()
	var found []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines start with %q:\n%v", len(found), prefix, r)
	}
	for _, p := range parts {
		if !strings.Contains(found[0], p) {
			t.Errorf("line %q lacks %q", found[0], p)
		}
	}
}

func noFailures(t *testing.T, r procResult, lines []string) {
	t.Helper()
	for _, l := range lines {
		if !strings.HasPrefix(l, "PASS  ") && !strings.HasPrefix(l, "WARN  ") {
			t.Errorf("unexpected line %q in:\n%v", l, r)
		}
	}
}

func TestDoctor(t *testing.T) {
	needE2E(t)
	peer(t, pluginDir+"/check_dummy")
	certFile, keyFile := certFor(t, t.TempDir(), "server", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	central := startCentralForDoctor(t, certFile, keyFile)
	externals := func(c *centralForDoctor, ca string) string {
		return fmt.Sprintf("[externals]\nurl = \"https://%s/externals/\"\nca_file = %q\n%s\n", c.HTTPAddr, ca, c.PublicKey) // keygen prints the line
	}

	t.Run("picket server", func(t *testing.T) {
		r, lines := runDoctor(t, doctorConfig(t, "", nscaTargetTable(central.Addr, "right.secret")+externals(central, certFile)))
		if r.Code != 0 {
			t.Errorf("exit %d, want 0", r.Code)
		}
		noFailures(t, r, lines)
		wantLine(t, r, lines, "PASS  target "+central.Addr+": ", "picket server, password and cipher accepted, clock offset +0s")
		wantLine(t, r, lines, "PASS  externals https://"+central.HTTPAddr+"/externals/: ", "certificate for localhost, 127.1, 127.0.0.1 trusted")
		wantLine(t, r, lines, "PASS  externals web01.toml: ", "1 check, signature verified")
		wantLine(t, r, lines, "PASS  checks: ", "every check")
		wantLine(t, r, lines, "PASS  spool ", "does not exist yet", "free on its disk")
		// The probe never reaches Nagios: the one line in the command
		// file is the result sent afterwards.
		sent := runPicketSend(t, []byte("web01\tafter\t0\tsent after the probe\x17"), "-H", "127.0.0.1", "-p", fmt.Sprint(central.Port),
			"-c", sendNSCAConfig(t, 14, "doctor-pw"))
		if sent.Code != 0 {
			t.Fatalf("picket send: %v", sent)
		}
		if got := waitLines(t, central.CommandFile, 1); len(got) != 1 || !strings.Contains(got[0], "sent after the probe") {
			t.Errorf("command file: %q", got)
		}
		emptyCommandFile(t, central.Dir)
	})

	t.Run("picket server, wrong password", func(t *testing.T) {
		r, lines := runDoctor(t, doctorConfig(t, "", nscaTargetTable(central.Addr, "wrong.secret")))
		if r.Code != 2 {
			t.Errorf("exit %d, want 2", r.Code)
		}
		wantLine(t, r, lines, "FAIL  target "+central.Addr+": ", "hung up on the probe: the password or the encryption (aes256) differs",
			" — fix: use the password and encryption of the server's [nsca] section")
		waitLog(t, central.daemon, "nsca packet rejected", "wrong password or encryption method")
	})

	// send_nsca fills a packet's padding at random; only a packet that is
	// a probe in every part is taken for one, so results that resemble
	// one in all but a part reach Nagios as ever.
	t.Run("send_nsca into picket server", func(t *testing.T) {
		emptyCommandFile(t, central.Dir)
		nonce := strings.Repeat("0123456789abcdef", 2)
		in := "picket-probe\t0\tPING OK\x17picket-probe\tsvc\t0\t" + nonce + "\x17picket-probe\t1\t" + nonce + "\x17"
		if s := runSendNSCA(t, central.Port, sendNSCAConfig(t, 14, "doctor-pw"), []byte(in)); s.Code != 0 {
			t.Fatalf("send_nsca: %v", s)
		}
		got := waitLines(t, central.CommandFile, 3)
		for i, want := range []string{"PROCESS_HOST_CHECK_RESULT;picket-probe;0;PING OK",
			"PROCESS_SERVICE_CHECK_RESULT;picket-probe;svc;0;" + nonce, "PROCESS_HOST_CHECK_RESULT;picket-probe;1;" + nonce} {
			if len(got) != 3 || !strings.HasSuffix(got[i], want) {
				t.Errorf("command file %q, want line %d to end in %q", got, i, want)
			}
		}
	})

	t.Run("nsca daemon", func(t *testing.T) {
		n := startNSCA(t, 14, "doctor-pw")
		r, lines := runDoctor(t, doctorConfig(t, "", nscaTargetTable(n.Addr, "right.secret")))
		if r.Code != 0 {
			t.Errorf("exit %d, want 0 (a warning is no failure)", r.Code)
		}
		noFailures(t, r, lines)
		wantLine(t, r, lines, "WARN  target "+n.Addr+": ", "plain NSCA server", "cannot tell whether the password and cipher work",
			" — fix: make sure password_file and encryption (aes256, method 14) match the server's nsca.cfg")
		// No probe was sent: the only line is send_nsca's result.
		if s := runSendNSCA(t, n.Port, sendNSCAConfig(t, 14, "doctor-pw"), []byte("web01\t0\tafter doctor\x17")); s.Code != 0 {
			t.Fatalf("send_nsca: %v", s)
		}
		if got := waitLines(t, n.CommandFile, 1); len(got) != 1 || !strings.Contains(got[0], "after doctor") {
			t.Errorf("nsca command file: %q", got)
		}
	})

	t.Run("dead port", func(t *testing.T) {
		addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(freePort(t)))
		r, lines := runDoctor(t, doctorConfig(t, "", nscaTargetTable(addr, "right.secret")))
		if r.Code != 2 {
			t.Errorf("exit %d, want 2", r.Code)
		}
		wantLine(t, r, lines, "FAIL  target "+addr+": ", "connection refused: nothing listens on "+addr,
			" — fix: start the server (picket server, nsca) there, or correct the address")
	})

	t.Run("expired certificate", func(t *testing.T) {
		expCert, expKey := certFor(t, t.TempDir(), "expired", time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC))
		old := startCentralForDoctor(t, expCert, expKey)
		r, lines := runDoctor(t, doctorConfig(t, "", externals(old, expCert)))
		if r.Code != 2 {
			t.Errorf("exit %d, want 2", r.Code)
		}
		wantLine(t, r, lines, "FAIL  externals https://"+old.HTTPAddr+"/externals/: ", "the server's certificate expired on 2020-03-01",
			" — fix: renew the server's certificate")
	})

	t.Run("spool readable by others", func(t *testing.T) {
		cfg := doctorConfig(t, `spool_dir = "$DIR/spool"`, nscaTargetTable(central.Addr, "right.secret"))
		spool := filepath.Join(filepath.Dir(cfg), "spool")
		if err := os.Mkdir(spool, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(spool, 0o755); err != nil { // past the umask
			t.Fatal(err)
		}
		r, lines := runDoctor(t, cfg)
		if r.Code != 2 {
			t.Errorf("exit %d, want 2", r.Code)
		}
		wantLine(t, r, lines, "FAIL  spool "+spool+": ", "mode 0755: every user of the host can look into it", " — fix: chmod o-rwx "+spool)
	})
}
