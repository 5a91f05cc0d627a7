package config

import (
	"strings"
	"testing"
)

func TestExternalsConfigProblems(t *testing.T) {
	world := secret(t, 0o644)
	tests := []struct{ name, src, want string }{
		{"interval too short", "[externals]\nurl = \"https://x/e/\"\ninterval = \"1s\"\n", "picket.toml:3: externals.interval: 1s is shorter than the minimum 10s"},
		{"not a URL", "[externals]\nurl = \"ftp://x/\"\n", "picket.toml:2: externals.url: \"ftp://x/\" is not an http(s) URL"},
		{"bad key", "[externals]\nurl = \"https://x/e/\"\npublic_key = \"ssh-ed25519 AAAA\"\n", "picket.toml:3: externals.public_key:"},
		{"short key", "[externals]\nurl = \"https://x/e/\"\npublic_key = \"ed25519:AAAA\"\n", "an Ed25519 key is 32"},
		{"stale below interval", "[externals]\nurl = \"https://x/e/\"\ninterval = \"1h\"\nmax_stale = \"30m\"\n", "externals.max_stale: 30m0s is shorter than the interval 1h0m0s"},
		{"monitored host twice", "hostname = \"web1\"\n[externals]\nurl = \"https://x/e/\"\nmonitored_hosts = [\"db1\", \"db1\"]\n", "entry 2 (\"db1\") is listed twice"},
		{"monitored self", "hostname = \"web1\"\n[externals]\nurl = \"https://x/e/\"\nmonitored_hosts = [\"web1\"]\n", "this agent's own host"},
		{"monitored without url", "[externals]\nmonitored_hosts = [\"db1\"]\n", "needs externals.url"},
		{"path in host", "[externals]\nurl = \"https://x/e/\"\nmonitored_hosts = [\"../etc\"]\n", "is not a host name"},
		{"autoreg without token", "[externals]\nurl = \"https://x/e/\"\n[autoreg]\nurl = \"https://x/r\"\n", "autoreg.token_file: missing"},
		{"autoreg without externals", "[autoreg]\nurl = \"https://x/r\"\ntoken_file = \"" + world + "\"\n", "registration needs externals.url"},
		{"world-readable token", "[externals]\nurl = \"https://x/e/\"\n[autoreg]\nurl = \"https://x/r\"\ntoken_file = \"" + world + "\"\n", "readable by every user"},
		{"relative state dir", "state_dir = \"var\"\n", "picket.toml:1: state_dir:"},
		{"half a client cert", "[externals]\nurl = \"https://x/e/\"\ncert_file = \"" + world + "\"\n", "needs both cert_file and key_file"},
		{"bad key in the set", "[externals]\nurl = \"https://x/e/\"\npublic_keys = [\"ed25519:" + strings.Repeat("A", 43) + "=\", \"rsa:x\"]\n", "picket.toml:3: externals.public_keys: entry 2:"},
		{"proxy without a scheme", "[externals]\nurl = \"https://x/e/\"\nproxy = \"proxy:3128\"\n", "picket.toml:3: externals.proxy:"},
		{"proxy ftp", "[externals]\nurl = \"https://x/e/\"\nproxy = \"ftp://proxy:21\"\n", "want http://host:port"},
		{"bad pin", "[externals]\nurl = \"https://x/e/\"\npin_sha256 = [\"abc\"]\n", "externals.pin_sha256: entry 1: \"abc\" is not the base64 of a SHA-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("picket.toml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestStateDirDefaults(t *testing.T) {
	c, err := Parse("picket.toml", []byte("state_dir = \"/srv/picket\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SpoolDir != "/srv/picket/spool" || c.Health.ExternalsService != DefaultExternalsService ||
		c.Externals.MaxStale.Duration != DefaultExternalsMaxStale || c.Externals.Interval.Duration != DefaultExternalsInterval {
		t.Errorf("got spool_dir %q, %+v, %+v", c.SpoolDir, c.Health, c.Externals)
	}
	c, err = parseAs(t, "hostname = \"Web1.example.com\"\n", "web1")
	if err != nil || c.Hostname != "web1" {
		t.Errorf("LoadAs: host %q, %v; want the assigned name", c.Hostname, err)
	}
}

func parseAs(t *testing.T, src, host string) (*Config, error) {
	t.Helper()
	return parse("picket.toml", []byte(src), host)
}

func TestExternalsIdentitySettings(t *testing.T) {
	src := "[externals]\nurl = \"https://x/e/\"\npublic_keys = [\"ed25519:" + strings.Repeat("A", 43) + "=\"]\n" +
		"proxy = \"http://user:pw@proxy.example.com:3128\"\npin_sha256 = [\"enrollment\", \"" + strings.Repeat("B", 43) + "=\"]\n" +
		"insecure_skip_verify = true\n[autoreg]\nurl = \"https://x/r\"\ntoken_file = \"/nonexistent/register.token\"\n"
	c, err := Parse("picket.toml", []byte(src))
	if err != nil {
		t.Fatalf("a missing token file (an enrolled agent) or the settings refused: %v", err)
	}
	e := c.Externals
	if len(e.PublicKeys) != 1 || e.Proxy == "" || len(e.PinSHA256) != 2 || !e.InsecureSkipVerify {
		t.Errorf("%+v", e)
	}
	if _, err := Parse("picket.toml", []byte("[externals]\nurl = \"https://x/e/\"\nproxy = \"direct\"\n")); err != nil {
		t.Errorf("proxy = direct: %v", err)
	}
}
