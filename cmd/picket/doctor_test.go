package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/nsca"
)

// doctorEnv is a temp folder with what an agent config names: a password
// file, a plugin folder with one plugin, a private state folder.
type doctorEnv struct {
	dir, pw, plugins, state string
}

func newDoctorEnv(t *testing.T) *doctorEnv {
	t.Helper()
	e := &doctorEnv{dir: t.TempDir()}
	e.pw = writeTestFile(t, filepath.Join(e.dir, "nsca.secret"), "right\n", 0o600)
	e.plugins = filepath.Join(e.dir, "plugins")
	writeTestFile(t, filepath.Join(e.plugins, "check_ok"), "#!/bin/sh\necho OK\n", 0o755)
	e.state = filepath.Join(e.dir, "state")
	if err := os.Mkdir(e.state, 0o700); err != nil {
		t.Fatal(err)
	}
	return e
}

// config writes an agent config with the given tables, and top-level
// settings if any.
func (e *doctorEnv) config(t *testing.T, tables string, top ...string) string {
	t.Helper()
	return writeTestFile(t, filepath.Join(e.dir, "picket.toml"), fmt.Sprintf(`hostname = "web01"
%s
plugin_dirs = [%q]
state_dir = %q
secrets_file = %q

[[check]]
service = "ok"
command = "check_ok"
interval = "1m"

%s`, strings.Join(top, "\n"), e.plugins, e.state, filepath.Join(e.dir, "secrets.toml"), tables), 0o600)
}

func (e *doctorEnv) nscaTarget(addr, encryption string) string {
	return fmt.Sprintf("[[target]]\naddress = %q\nencryption = %q\npassword_file = %q\n", addr, encryption, e.pw)
}

func writeTestFile(t *testing.T, path, content string, perm os.FileMode) string {
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
	return path
}

// nscaServer runs the nsca library's server; checkTimes makes it a picket
// server, which sends the marker and answers probes.
func nscaServer(t *testing.T, checkTimes bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &nsca.Server{Method: nsca.Rijndael128, Password: []byte("right"), CheckTimes: checkTimes,
		Logger:  slog.New(slog.DiscardHandler),
		Handler: nsca.HandlerFunc(func(context.Context, nsca.Received) { t.Error("a result reached the server") })}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// deadAddr is a port nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

var lineRE = regexp.MustCompile(`^(PASS|WARN|FAIL|SKIP)  [a-z_]+( \S.*)?: \S.*$`)

// doctorLines runs picket doctor and returns its report lines (without
// the summary), checking that each has the documented form.
func doctorLines(t *testing.T, args ...string) (int, []string) {
	t.Helper()
	code, out, errs := run(append([]string{"doctor", "--timeout", "5s"}, args...)...)
	if errs != "" {
		t.Errorf("stderr: %s", errs)
	}
	report, summary, ok := strings.Cut(strings.TrimSuffix(out, "\n"), "\n\n")
	if !ok || !regexp.MustCompile(`^\d+ passed, \d+ warned, \d+ failed, \d+ skipped$`).MatchString(summary) {
		t.Errorf("no summary line:\n%s", out)
	}
	lines := strings.Split(report, "\n")
	for _, l := range lines {
		if !lineRE.MatchString(l) {
			t.Errorf("line not in the documented form: %q", l)
		}
	}
	return code, lines
}

// line returns the one line that starts with prefix and contains every
// part, failing the test when there is none.
func line(t *testing.T, lines []string, prefix string, parts ...string) string {
	t.Helper()
next:
	for _, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return l
	}
	t.Errorf("no line %q with %q in:\n%s", prefix, parts, strings.Join(lines, "\n"))
	return ""
}

func TestDoctorTargets(t *testing.T) {
	e := newDoctorEnv(t)
	picket, plain, dead := nscaServer(t, true), nscaServer(t, false), deadAddr(t)
	for _, tt := range []struct {
		name, target string
		code         int
		prefix       string
		parts        []string
	}{
		{"picket server", e.nscaTarget(picket, "aes256"), exitOK,
			"PASS  target " + picket + ": ", []string{"picket server, password and cipher accepted, clock offset +0s"}},
		{"picket server, wrong cipher", e.nscaTarget(picket, "blowfish"), exitCritical,
			"FAIL  target " + picket + ": ", []string{"hung up on the probe", "(blowfish)", " — fix: use the password and encryption of the server's [nsca]"}},
		{"plain nsca", e.nscaTarget(plain, "aes256"), exitOK,
			"WARN  target " + plain + ": ", []string{"cannot tell whether the password and cipher work", " — fix: make sure password_file and encryption (aes256, method 14) match"}},
		{"dead port", e.nscaTarget(dead, "aes256"), exitCritical,
			"FAIL  target " + dead + ": ", []string{"connection refused", " — fix: start the server"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, lines := doctorLines(t, "--config", e.config(t, tt.target))
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, strings.Join(lines, "\n"))
			}
			line(t, lines, tt.prefix, tt.parts...)
			line(t, lines, "PASS  checks: ", "every check")
			line(t, lines, "PASS  state_dir "+e.state+": ", "mode 0700")
		})
	}
}

// A config with problems lists each, skips what they touch, and still
// checks the rest; one that does not decode stops there.
func TestDoctorConfigProblems(t *testing.T) {
	e := newDoctorEnv(t)
	good := nscaServer(t, true)
	path := e.config(t, e.nscaTarget(good, "aes256")+e.nscaTarget("127.0.0.1:5667", "aes"), `spool_dir = "relative"`)
	code, lines := doctorLines(t, "--config", path)
	if code != exitCritical {
		t.Errorf("exit %d", code)
	}
	line(t, lines, "FAIL  config "+path+":", "target[1].encryption", " — fix: correct the file there")
	line(t, lines, "FAIL  config "+path+":", "spool_dir")
	line(t, lines, "SKIP  target 127.0.0.1:5667: ", "target[1].")
	line(t, lines, "SKIP  spool relative: ", "spool_dir")
	line(t, lines, "PASS  target "+good+": ", "password and cipher accepted")

	bad := writeTestFile(t, filepath.Join(e.dir, "bad.toml"), "hostname = \"web01\"\nintrval = 5\n", 0o600)
	code, lines = doctorLines(t, "--config", bad)
	if code != exitCritical || len(lines) != 2 {
		t.Errorf("exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
	line(t, lines, "FAIL  config "+bad+":2: ", "intrval: unknown key")
	line(t, lines, "SKIP  doctor: ", "nothing else was checked")

	code, lines = doctorLines(t, "--config", filepath.Join(e.dir, "missing.toml"))
	if code != exitCritical {
		t.Errorf("exit %d", code)
	}
	line(t, lines, "FAIL  config ", "no such file", " — fix: write the agent's config there")
}

func TestDoctorPlugins(t *testing.T) {
	e := newDoctorEnv(t)
	path := e.config(t, "[[check]]\nservice = \"gone\"\ncommand = \"check_gone\"\ninterval = \"1m\"\n")
	code, lines := doctorLines(t, "--config", path)
	if code != exitCritical {
		t.Errorf("exit %d", code)
	}
	line(t, lines, "PASS  plugins "+e.plugins+": ", "1 file")
	line(t, lines, "FAIL  check web01/gone: ", `"check_gone" not found`, " — fix: install the plugin", "picket.toml:")

	if err := os.Chmod(e.plugins, 0o777); err != nil {
		t.Fatal(err)
	}
	_, lines = doctorLines(t, "--config", path)
	line(t, lines, "FAIL  plugins "+e.plugins+": ", "mode 0777", " — fix: chmod o-w")
}

func TestDoctorSpool(t *testing.T) {
	e := newDoctorEnv(t)
	sp := filepath.Join(e.state, "spool")
	if err := os.Mkdir(sp, 0o755); err != nil {
		t.Fatal(err)
	}
	path := e.config(t, "")
	code, lines := doctorLines(t, "--config", path)
	if code != exitCritical {
		t.Errorf("exit %d", code)
	}
	line(t, lines, "FAIL  spool "+sp+": ", "mode 0755: every user of the host can look into it", " — fix: chmod o-rwx "+sp)

	if err := os.Chmod(sp, 0o700); err != nil {
		t.Fatal(err)
	}
	code, lines = doctorLines(t, "--config", path)
	if code != exitOK {
		t.Errorf("exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
	line(t, lines, "PASS  spool "+sp+": ", "mode 0700", "free on its disk", "no agent running")

	s, err := spool.Open(sp, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, lines = doctorLines(t, "--config", path)
	line(t, lines, "PASS  spool "+sp+": ", fmt.Sprintf("agent running (pid %d)", os.Getpid()))

	// More than the disk can hold.
	path = e.config(t, "[spool]\nmax_bytes = \"1000TiB\"\n")
	code, lines = doctorLines(t, "--config", path)
	if code != exitCritical {
		t.Errorf("exit %d", code)
	}
	line(t, lines, "FAIL  spool "+sp+": ", "the disk fills up before the spool's limit", " — fix: free space on that disk, or lower spool.max_bytes")
}

func TestDoctorJSON(t *testing.T) {
	e := newDoctorEnv(t)
	dead := deadAddr(t)
	code, out, _ := run("doctor", "--json", "--config", e.config(t, e.nscaTarget(dead, "aes256")))
	if code != exitCritical {
		t.Errorf("exit %d", code)
	}
	found := 0
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var f struct{ Status, Check, Subject, Message, Fix string }
		if err := json.Unmarshal([]byte(l), &f); err != nil || f.Status == "" || f.Check == "" || f.Message == "" {
			t.Errorf("line %q: %v", l, err)
		}
		if f.Check == "target" && f.Subject == dead {
			found++
			if f.Status != "FAIL" || !strings.Contains(f.Message, "connection refused") || !strings.HasPrefix(f.Fix, "start the server") {
				t.Errorf("target: %+v", f)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d objects for the target in:\n%s", found, out)
	}
}

func TestDoctorUsage(t *testing.T) {
	for _, args := range [][]string{{"doctor", "extra"}, {"doctor", "--timeout", "0s"}, {"doctor", "--bogus"}} {
		if code, _, errs := run(args...); code != exitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	if code, out, _ := run("doctor", "-h"); code != exitOK || !strings.Contains(out, "WARN works but deserves a look; it does not fail the run") {
		t.Errorf("-h: exit %d, stdout %q", code, out)
	}
}
