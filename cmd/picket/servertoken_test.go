package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/internal/signing"
)

// serverConfig writes a server.toml with registration, an old-style
// tokens file and one profile, and returns its path and folder.
func serverConfig(t *testing.T) (cfg, dir string) {
	t.Helper()
	dir = t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokens := write("register.tokens", "# one per line\nold-token-1\n", 0o600)
	profiles := write("profiles.toml", "default = \"base\"\n", 0o644)
	write("base.toml", "[[check]]\nservice = \"x\"\ncommand = \"check_x\"\n", 0o644)
	cfg = write("server.toml", "state_dir = \""+dir+"/state\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[externals]\ndir = \""+dir+
		"/ext\"\n\n[registration]\ntokens_file = \""+tokens+"\"\nprofiles = \""+profiles+"\"\n", 0o600)
	return cfg, dir
}

func TestServerTokenAddAndList(t *testing.T) {
	cfg, dir := serverConfig(t)
	code, out, errs := run("server", "token", "add", "--config", cfg, "--name", "fleet", "--hosts", "web[0-9]+",
		"--profile", "base", "--expires", "72h", "--max-uses", "2")
	if code != exitOK {
		t.Fatalf("add: %d %s", code, errs)
	}
	token := strings.TrimSpace(out)
	if len(token) != 43 || !strings.Contains(errs, "converted to the TOML form, its 1 tokens kept as hashes") {
		t.Fatalf("token %q, stderr %s", token, errs)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "register.tokens"))
	if strings.Contains(string(data), token) || strings.Contains(string(data), "old-token-1") {
		t.Errorf("a token in clear in the file:\n%s", data)
	}
	tk, err := autoreg.LoadTokens(filepath.Join(dir, "register.tokens"), "")
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := tk.Check(token, "web3"); err != nil || tok.Profile != "base" || tok.MaxUses != 2 || tok.Expires.IsZero() {
		t.Errorf("Check = %+v, %v", tok, err)
	}
	if !tk.Valid("old-token-1") {
		t.Error("the old token stopped working")
	}

	code, out, errs = run("server", "token", "list", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "legacy-1") || !strings.Contains(out, "fleet") || !strings.Contains(out, "web[0-9]+") ||
		!strings.Contains(out, "0 of 2") || strings.Contains(out, token) {
		t.Errorf("list: %d %s\n%s", code, errs, out)
	}
	code, out, _ = run("server", "token", "list", "--config", cfg, "--json")
	var rows []map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 || rows[1]["state"] != "valid" {
		t.Errorf("list --json: %d %s", code, out)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--name", "x", "--profile", "nosuch"}, exitUsage, `--profile "nosuch"`},
		{[]string{"--name", "x", "--expires", "yesterday"}, exitUsage, "neither a duration"},
		{[]string{"--name", "x", "--expires", "2001-01-01"}, exitUsage, "in the past"},
		{[]string{"--name", "x", "--hosts", "("}, exitUsage, "--hosts"},
		{[]string{"--name", "fleet"}, exitCritical, "the name of another token"},
		{[]string{}, exitUsage, "Usage: picket server token add"},
	} {
		code, _, errs := run(append([]string{"server", "token", "add", "--config", cfg}, tt.args...)...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: %d %q, want %d and %q", tt.args, code, errs, tt.code, tt.want)
		}
	}
}

func TestServerHostsForgetRekey(t *testing.T) {
	cfg, dir := serverConfig(t)
	// A registry with one legacy host and one bound host.
	reg, err := autoreg.OpenRegistry(filepath.Join(dir, "state", "registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "state"), 0o700)
	for _, h := range []string{"old01", "web01"} {
		if err := reg.Put(autoreg.Entry{Host: h, Profile: "base"}); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := autoreg.OpenIdentities(context.Background(), filepath.Join(dir, "state", "identities.json"), []string{"old01"})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := signing.GenerateKey()
	if _, err := ids.Bind(context.Background(), "web01", pub, "fleet"); err != nil {
		t.Fatal(err)
	}
	fp := signing.Fingerprint(pub)

	code, out, errs := run("server", "hosts", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "KEY") || !strings.Contains(out, fp) || !strings.Contains(out, "none (legacy)") {
		t.Fatalf("hosts: %d %s\n%s", code, errs, out)
	}
	if code, out, errs := run("server", "hosts", "rekey", "web01", "--config", cfg); code != exitOK || !strings.Contains(out, fp+" keeps working") {
		t.Errorf("rekey: %d %s %s", code, out, errs)
	}
	if _, out, _ := run("server", "hosts", "--config", cfg); !strings.Contains(out, "(rekey requested)") {
		t.Errorf("hosts after rekey:\n%s", out)
	}
	if code, out, errs := run("server", "hosts", "forget", "--config", cfg, "web01"); code != exitOK || !strings.Contains(out, "web01 released from key "+fp) {
		t.Errorf("forget: %d %s %s", code, out, errs)
	}
	if code, _, errs := run("server", "hosts", "forget", "--config", cfg, "web01"); code != exitCritical || !strings.Contains(errs, "no key is bound") {
		t.Errorf("forget twice: %d %s", code, errs)
	}
	if code, out, _ := run("server", "hosts", "forget", "--config", cfg, "old01"); code != exitOK || !strings.Contains(out, "registered before identities") {
		t.Errorf("forget legacy: %d %s", code, out)
	}
	code, out, _ = run("server", "hosts", "--config", cfg, "--json")
	var hosts []map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &hosts) != nil || len(hosts) != 2 || hosts[0]["binding"] != nil || hosts[0]["legacy"] != nil {
		t.Errorf("hosts --json after forget: %s", out)
	}
	for _, args := range [][]string{{"forget"}, {"rekey", "a", "b"}, {"forget", "../x"}} {
		code, _, _ := run(append(append([]string{"server", "hosts"}, args...), "--config", cfg)...)
		if code == exitOK {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestServerKeygenNext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "next.key")
	code, out, errs := run("server", "keygen", "--next", "--key", path)
	if code != exitOK || !strings.HasPrefix(out, "\"ed25519:") || !strings.Contains(errs, "next_signing_key") {
		t.Fatalf("%d %q %s", code, out, errs)
	}
	if _, err := signing.ReadSigningKey(path); err != nil {
		t.Error(err)
	}
}
