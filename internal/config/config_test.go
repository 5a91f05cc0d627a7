package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/nsca"
)

func secret(t *testing.T, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nsca.secret")
	if err := os.WriteFile(p, []byte("s3cret\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseFullFile(t *testing.T) {
	pw := secret(t, 0o600)
	src := `hostname = "web01"
plugin_dirs = ["/usr/lib/nagios/plugins"]
spool_dir = "/var/lib/picket/spool"

[[target]]
address = "nagios1.example.com:5667"
encryption = "aes256"
password_file = "` + pw + `"

[[target]]
address = "nagios2.example.com:5667"
encryption = "none"
legacy = true
timeout = "5s"

[externals]
url = "https://nagios1.example.com/picket/externals/"
interval = "5m"
max_stale = "72h"

[autoreg]
url = "https://nagios1.example.com/picket/register"
metadata = ["linux", "web"]
`
	c, err := Parse("picket.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) != 2 || c.Targets[0].Method != nsca.Rijndael128 || c.Targets[1].Method != nsca.None ||
		!c.Targets[1].Legacy || c.Targets[1].Timeout.Seconds() != 5 || c.Externals.MaxStale.Hours() != 72 {
		t.Errorf("got %+v", c)
	}
	got, err := c.Targets[0].Password()
	if err != nil || string(got) != "s3cret" {
		t.Errorf("Password() = %q, %v (trailing newline must go)", got, err)
	}
}

func TestParseReportsEveryProblemWithLine(t *testing.T) {
	src := `hostname = "web01"

[[target]]
address = "nagios1"
encryption = "aes"
`
	_, err := Parse("picket.toml", []byte(src))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *Error", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`picket.toml:4: target[0].address: "nagios1" is not host:port`,
		`picket.toml:5: target[0].encryption: unknown encryption method "aes"`,
		`picket.toml: target[0].password_file: missing`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(ce.Problems) != 3 {
		t.Errorf("%d problems, want 3:\n%s", len(ce.Problems), msg)
	}
}

func TestDecodeUnknownKeysAndTypes(t *testing.T) {
	tests := []struct{ src, want string }{
		{"hostname = \"a\"\nhost_name = \"b\"\n", `picket.toml:2: host_name: unknown key`},
		{"[[target]]\naddress = \"a:1\"\nadress = \"b\"\n", `picket.toml:3: target.adress: unknown key`},
		{"[externals]\n  intrval = \"5m\"\n", `picket.toml:2: externals.intrval: unknown key`},
		{"[bogus]\nx = 1\n", `picket.toml:1: bogus: unknown key`},
		{"hostname = 5\n", `picket.toml:1`},
		{"[externals]\ninterval = \"5 minutes\"\n", `invalid duration "5 minutes"`},
		{"hostname = \"a\"\nhostname = \"b\"\n", `picket.toml:2`},
		{"plugin_dirs = [\"a\",\n", `picket.toml:`},
	}
	for _, tt := range tests {
		var c Config
		err := Decode("picket.toml", []byte(tt.src), &c)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.src, err, tt.want)
		}
	}
}

func TestWorldReadableSecretRefused(t *testing.T) {
	pw := secret(t, 0o644)
	src := "[[target]]\naddress = \"a:5667\"\nencryption = \"xor\"\npassword_file = \"" + pw + "\"\n"
	_, err := Parse("picket.toml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "readable by every user") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatal("error shows the secret")
	}
}

func TestDefaultPath(t *testing.T) {
	if p := DefaultPath(); !strings.HasSuffix(filepath.ToSlash(p), "picket/picket.toml") {
		t.Errorf("DefaultPath() = %q", p)
	}
}
