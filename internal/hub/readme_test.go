package hub

import (
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/readme"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/signing"
)

// readmeSetupBlocks returns the fenced blocks of README's central set-up
// section, in order.
func readmeSetupBlocks(t *testing.T) []string {
	t.Helper()
	blocks, err := readme.Blocks("../../README.md", "### A complete central set-up on a fresh Nagios")
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 4 {
		t.Fatalf("README's set-up has %d blocks, want 4 (templates, server.toml, profiles.toml, base.toml)", len(blocks))
	}
	return blocks
}

// The server config and the profile README's set-up gives load as they
// stand (with its files in a temporary folder), and the profile renders
// valid externals for a Linux and a Windows host.
func TestReadmeSetupLoads(t *testing.T) {
	blocks := readmeSetupBlocks(t)
	dir := t.TempDir()
	at := func(s string) string {
		s = strings.ReplaceAll(s, "/etc/picket/", dir+"/etc/")
		return strings.ReplaceAll(s, "/var/lib/picket/", dir+"/var/")
	}
	writeFile(t, dir+"/etc", "profiles.toml", blocks[2], 0o644)
	writeFile(t, dir+"/etc/profiles", "base.toml", blocks[3], 0o644)
	writeFile(t, dir+"/etc", "nsca.secret", "pw\n", 0o600)
	writeFile(t, dir+"/etc", "register.tokens", "tok\n", 0o600)
	_, key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.WriteSigningKey(dir+"/etc/externals.key", key); err != nil {
		t.Fatal(err)
	}
	// Loading checks that they are there and the key is private; the
	// server reads them when it starts.
	certFile := writeFile(t, dir+"/etc", "server.crt", "certificate\n", 0o644)
	keyFile := writeFile(t, dir+"/etc", "server.key", "key\n", 0o600)
	server := strings.NewReplacer(`"/etc/picket/server.crt"`, `"`+certFile+`"`, `"/etc/picket/server.key"`, `"`+keyFile+`"`).Replace(blocks[1])
	cfgFile := writeFile(t, dir, "server.toml", at(server), 0o600)
	if _, err := LoadConfig(cfgFile); err != nil {
		t.Fatalf("README's server.toml: %v", err)
	}

	profiles, err := autoreg.LoadProfiles(dir + "/etc/profiles.toml")
	if err != nil {
		t.Fatalf("README's profiles: %v", err)
	}
	for _, os := range []string{"linux", "windows"} {
		req := autoreg.Request{Hostname: "host1", OS: os}
		profile, ok := profiles.Match("host1", req)
		if !ok {
			t.Fatalf("%s: no profile", os)
		}
		out, err := profiles.Render(profile, "host1", req)
		if err != nil {
			t.Fatalf("%s: render: %v", os, err)
		}
		f, err := externals.Parse("base.toml", out, "host1")
		if err != nil {
			t.Fatalf("%s: rendered externals invalid: %v\n%s", os, err, out)
		}
		if hasLoad := strings.Contains(string(out), "picket:load"); hasLoad != (os == "linux") || len(f.Checks) < 2 {
			t.Errorf("%s: %d checks:\n%s", os, len(f.Checks), out)
		}
	}
}
