package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/tomlfile"
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
token_file = "` + pw + `"
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
	var ce *tomlfile.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *tomlfile.Error", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`picket.toml:4: target[0].address: "nagios1" is not host:port`,
		`picket.toml:5: target[0].encryption: unknown encryption method "aes"`,
		`picket.toml:3: target[0].password_file: missing`,
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
		err := tomlfile.Decode("picket.toml", []byte(tt.src), &c)
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

func TestChecksResolvedWithDefaults(t *testing.T) {
	src := `hostname = "Web01"
plugin_dirs = ["/usr/lib/nagios/plugins"]

[macros]
USER2 = "/opt/plugins"

[defaults]
interval = "2m"
timeout = "20s"
timeout_state = "unknown"

[[check]]
service = "disk_root"
command = "check_disk -w 10% -c 5% -p /"

[[check]]
service = "backup_age"
command = "$USER2$/check_file_age -f /var/backups/last"
cron = "CRON_TZ=Europe/Berlin 0 6 * * *"
timeout = "2m"
timeout_state = "warning"
max_attempts = 1

[[check]]
service = "off"
command = "check_dummy 0"
enabled = false

[[check]]
service = "db_load"
host = "db01"
command = "check_load -w 5 -c 10"
interval = "30s"
retry_interval = "10s"
`
	c, err := Parse("picket.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hostname != "web01" {
		t.Errorf("Hostname = %q, want lower-cased web01", c.Hostname)
	}
	want := []check.Check{
		{Host: "web01", HostAddress: "web01", Service: "disk_root", Command: "check_disk -w 10% -c 5% -p /",
			Interval: 2 * time.Minute, Timeout: 20 * time.Second, TimeoutState: check.Unknown,
			RetryInterval: checkspec.DefaultRetryInterval, MaxAttempts: checkspec.DefaultMaxAttempts},
		{Host: "web01", HostAddress: "web01", Service: "backup_age", Command: "$USER2$/check_file_age -f /var/backups/last",
			Cron: "CRON_TZ=Europe/Berlin 0 6 * * *", Timeout: 2 * time.Minute, TimeoutState: check.Warning,
			RetryInterval: checkspec.DefaultRetryInterval, MaxAttempts: 1},
		{Host: "db01", HostAddress: "db01", Service: "db_load", Command: "check_load -w 5 -c 10",
			Interval: 30 * time.Second, Timeout: 20 * time.Second, TimeoutState: check.Unknown,
			RetryInterval: 10 * time.Second, MaxAttempts: checkspec.DefaultMaxAttempts},
	}
	if !reflect.DeepEqual(c.Checks, want) {
		t.Errorf("Checks =\n%+v\nwant\n%+v", c.Checks, want)
	}
}

func TestCheckProblemsNameTheirLine(t *testing.T) {
	src := `hostname = "web01"

[[check]]
service = "ok_one"
command = "check_dummy 0"

[[check]]
service = "bad;name"
command = "check_dummy 0"
interval = "1m"
cron = "0 * * * *"

[[check]]
service = "no_command"
interval = "10ms"

[[check]]
service = "tz"
command = "check_dummy 0"
cron = "CRON_TZ=Nowhere/Bogus 0 6 * * *"
timeout_state = "bad"

[[check]]
service = "ok_one"
command = "check_dummy 1"

[macros]
USER1 = "/x"
"$USER3$" = "y"
`
	_, err := Parse("picket.toml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`picket.toml:8: check[1].service: "bad;name": no ';'`,
		`picket.toml:11: check[1].cron: set either interval or cron, not both`,
		`picket.toml:13: check[2].command: missing`,
		`picket.toml:15: check[2].interval: 10ms is shorter than the minimum 1s`,
		`picket.toml:20: check[3].cron: `,
		`picket.toml:21: check[3].timeout_state: invalid check state "bad"`,
		`picket.toml:24: check[4].service: "ok_one" on host web01 is also check[0]`,
		`picket.toml:28: macros.USER1: cannot be set`,
		`picket.toml:29: macros.$USER3$: a macro name is upper-case`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestUnknownCheckKeyHasItsLine(t *testing.T) {
	src := "hostname = \"web01\"\n[[check]]\nservice = \"a\"\ncommand = \"x\"\n[[check]]\nservice = \"b\"\ncommand = \"y\"\nintrval = \"1m\"\n"
	_, err := Parse("picket.toml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), `picket.toml:8: check.intrval: unknown key`) {
		t.Errorf("err = %v", err)
	}
}

func TestEffectiveMasksSecrets(t *testing.T) {
	src := `hostname = "web01"
[macros]
USER3 = "db-password"
[externals]
url = "https://agent:hunter2@nagios.example.com/picket/"
[[check]]
service = "db"
command = "check_pgsql -p $USER3$"
interval = "1m"
`
	c, err := Parse("picket.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Effective(false)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, secret := range []string{"db-password", "hunter2"} {
		if strings.Contains(s, secret) {
			t.Errorf("effective config shows %q:\n%s", secret, s)
		}
	}
	for _, want := range []string{`USER3 = "********"`, `service = "db"`, `interval = "1m"`, `timeout = "1m"`, `timeout_state = "critical"`, `max_attempts = 3`} {
		if !strings.Contains(s, want) {
			t.Errorf("effective config lacks %q:\n%s", want, s)
		}
	}
	// What it prints must load again: it is a valid config.
	if _, err := Parse("effective.toml", out); err != nil {
		t.Errorf("effective config does not load: %v\n%s", err, s)
	}
	shown, _ := c.Effective(true)
	if !strings.Contains(string(shown), "db-password") {
		t.Errorf("--show-macros did not show the macro")
	}
}

// What a write that stopped half-way leaves is refused, even where it
// would parse: an empty file would be an agent with nothing to do, and a
// cut number is still a number.
func TestHalfWrittenFilesAreRefused(t *testing.T) {
	full := "hostname = \"web01\"\n[defaults]\nmax_attempts = 10\n"
	for _, tt := range []struct {
		name, data, want string
	}{
		{"empty", "", "picket.toml: the file is empty"},
		{"blank", " \n\t\n", "picket.toml: the file is empty"},
		{"cut in a number", full[:len(full)-2], "picket.toml:3: the file does not end with a line break"},
		{"cut after a key", full[:len(full)-1], "picket.toml:3: the file does not end with a line break"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("picket.toml", []byte(tt.data))
			var e *tomlfile.Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want an error saying %q", err, tt.want)
			}
		})
	}
	if _, err := Parse("picket.toml", []byte(full)); err != nil {
		t.Errorf("the complete file: %v", err)
	}
	if _, err := Parse("picket.toml", []byte("# nothing configured yet\r\n")); err != nil {
		t.Errorf("a file of comments with CRLF: %v", err)
	}
}

// A target's kind decides which settings it takes; every mix-up is a
// problem on its line.
func TestTargetKinds(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	head := "hostname = \"h\"\n"
	for _, tt := range []struct {
		name, src, want string
	}{
		{"icinga ok", "[[target]]\nkind = \"icinga2\"\nurl = \"https://icinga:5665\"\nuser = \"u\"\npassword_file = \"" + pw + "\"\n", ""},
		{"icinga default port", "[[target]]\nkind = \"icinga2\"\nurl = \"https://icinga\"\nuser = \"u\"\npassword_file = \"" + pw + "\"\n", ""},
		{"unknown kind", "[[target]]\nkind = \"snmp\"\naddress = \"a:1\"\n", `:3: target[0].kind: "snmp"`},
		{"icinga over http", "[[target]]\nkind = \"icinga2\"\nurl = \"http://icinga:5665\"\nuser = \"u\"\npassword_file = \"" + pw + "\"\n", `target[0].url: "http://icinga:5665" is not an https URL`},
		{"icinga without credentials", "[[target]]\nkind = \"icinga2\"\nurl = \"https://icinga:5665\"\n", "target[0].user: Icinga 2 needs user and password_file"},
		{"icinga with encryption", "[[target]]\nkind = \"icinga2\"\nurl = \"https://i:5665\"\nuser = \"u\"\npassword_file = \"" + pw + "\"\nencryption = \"aes256\"\n", "target[0].encryption: is an NSCA setting"},
		{"icinga with address", "[[target]]\nkind = \"icinga2\"\naddress = \"i:5665\"\nurl = \"https://i:5665\"\nuser = \"u\"\npassword_file = \"" + pw + "\"\n", "target[0].address: is an NSCA setting"},
		{"nsca with url", "[[target]]\naddress = \"a:1\"\nencryption = \"none\"\nurl = \"https://i:5665\"\n", "target[0].url: is an Icinga 2 setting"},
		{"mixed group", "[[target]]\naddress = \"a:1\"\nencryption = \"none\"\ngroup = \"g\"\n[[target]]\nkind = \"icinga2\"\nurl = \"https://i:5665\"\nuser = \"u\"\npassword_file = \"" + pw + "\"\ngroup = \"g\"\n", "mixes kinds of targets"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("picket.toml", []byte(head+tt.src))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.want == "":
				if tg := c.Targets[0]; tg.Kind != KindIcinga2 || tg.Address == "" || !strings.HasSuffix(tg.Address, ":5665") {
					t.Errorf("target %+v", tg)
				}
			case err == nil || !strings.Contains(err.Error(), tt.want):
				t.Errorf("Parse = %v, want %q", err, tt.want)
			}
		})
	}
}
