package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/nsca"
)

// picket server config check: a good config prints as the server runs it
// without a secret; a bad one names file, line and field.
func TestServerConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pw := write("nsca.pw", "pw-Secret-1\n")
	encryption := fmt.Sprintf("encryption = %q", nsca.Rijndael128.String()) // method 14 by name
	nscaSection := fmt.Sprintf("[nsca]\nlisten = \"127.0.0.1:5667\"\nencryption = \"14\"\npassword_file = %q\ncommand_file = \"/var/lib/nagios4/rw/nagios.cmd\"\n", pw)
	good := write("good.toml", fmt.Sprintf("state_dir = %q\n\n%s", dir, nscaSection))
	nscaCfg := write("nsca.cfg", "server_port=5667\npassword=cfg-Secret-2\ndecryption_method=14\ncommand_file=/var/lib/nagios4/rw/nagios.cmd\n")
	stateOnly := write("state.toml", fmt.Sprintf("state_dir = %q\n", dir))
	badCipher := write("bad.toml", "state_dir = \"/var/lib/picket/server\"\n\n[nsca]\nlisten = \"5667\"\nencryption = \"rot13\"\ncommand_file = \"/x\"\n")
	typo := write("typo.toml", nscaSection+"comand_file = \"/x\"\n")
	noTLS := write("notls.toml", fmt.Sprintf("state_dir = %q\n\n[http]\nlisten = \"127.0.0.1:8443\"\n\n[externals]\ndir = %q\n", dir, dir))

	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stdout []string // each must be in stdout
		stderr []string // each must be in stderr
	}{
		{"valid", []string{"--config", good}, exitOK, []string{
			"# effective configuration of " + good + "; secrets masked",
			encryption, fmt.Sprintf("password_file = %q", pw), `max_packet_age = "5m"`,
			fmt.Sprintf("control_socket = %q", filepath.Join(dir, "control.sock")),
		}, nil},
		{"nsca.cfg", []string{"--nsca-config", nscaCfg}, exitOK, []string{"# [nsca] taken from " + nscaCfg, encryption}, nil},
		{"nsca.cfg with a state_dir", []string{"--config", stateOnly, "--nsca-config", nscaCfg}, exitOK, []string{fmt.Sprintf("state_dir = %q", dir)}, nil},
		{"both [nsca] and nsca.cfg", []string{"--config", good, "--nsca-config", nscaCfg}, exitUsage, nil, []string{"use one"}},
		{"bad cipher and address", []string{"--config", badCipher}, exitCritical, nil, []string{
			badCipher + ":5: nsca.encryption:", "rot13", badCipher + `:4: nsca.listen: "5667" is not host:port`}},
		{"unknown key", []string{"--config", typo}, exitCritical, nil, []string{typo + ":6: nsca.comand_file: unknown key"}},
		{"nothing to serve", []string{"--config", stateOnly}, exitCritical, nil, []string{stateOnly + ": nothing to serve"}},
		{"warning", []string{"--config", noTLS}, exitOK, []string{"[http]"}, []string{noTLS + ":3: warning: http: no tls_cert"}},
		{"warning with --strict", []string{"--config", noTLS, "--strict"}, exitCritical, nil, []string{"warning: http"}},
		{"missing file", []string{"--config", filepath.Join(dir, "none.toml")}, exitCritical, nil, []string{"read server config"}},
		{"stray argument", []string{"--config", good, "extra"}, exitUsage, nil, []string{"Usage: picket server config check"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := run(append([]string{"server", "config", "check"}, c.args...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errs)
			}
			for _, want := range c.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			for _, want := range c.stderr {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
			for _, secret := range []string{"pw-Secret-1", "cfg-Secret-2"} {
				if strings.Contains(out+errs, secret) {
					t.Errorf("output shows the secret %q:\n%s\n%s", secret, out, errs)
				}
			}
		})
	}
}

func TestServerSubcommandHelp(t *testing.T) {
	for _, args := range [][]string{
		{"server", "config", "-h"}, {"server", "config", "check", "-h"}, {"server", "config", "check", "--help"},
		{"server", "status", "-h"}, {"server", "status", "--help"},
	} {
		code, out, errs := run(args...)
		if code != exitOK || !strings.HasPrefix(out, "Usage: picket server "+args[1]) || errs != "" {
			t.Errorf("picket %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, firstLine(out), errs)
		}
	}
	if code, out, errs := run("server", "config"); code != exitUsage || out != "" || !strings.Contains(errs, "Usage: picket server config check") {
		t.Errorf("picket server config: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := run("server", "-h"); code != exitOK || errs != "" {
		t.Errorf("picket server -h: exit %d, stderr %q", code, errs)
	}
}

// With the server stopped, status says so, on standard output, and exits 2.
func TestServerStatusNotRunning(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "server.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("state_dir = %q\n", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("server", "status", "--config", cfg)
	if code != exitCritical || !strings.Contains(out, "picket server is not running (nothing answers on "+filepath.Join(dir, "control.sock")+")") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
