package externals

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

const sampleTOML = `host_address = "10.0.0.5"

[defaults]
interval = "1m"

[macros]
USER5 = "/opt/x"

[[check]]
service = "disk_root"
command = "check_disk -w 10% -c 5% -p /"

[[check]]
service = "backup_age"
command = "$USER5$/check_file_age -f /var/backups/last"
cron = "0 6 * * *"
timeout = "2m"

[[check]]
service = "off"
command = "check_off"
enabled = false
`

func TestParseValid(t *testing.T) {
	f, err := Parse("web01.toml", []byte(sampleTOML), "web01")
	if err != nil {
		t.Fatal(err)
	}
	if f.HostAddress != "10.0.0.5" || len(f.CheckList) != 3 || len(f.Checks) != 2 {
		t.Fatalf("got %+v", f)
	}
	disk, backup := f.Checks[0], f.Checks[1]
	if disk.Host != "web01" || disk.HostAddress != "10.0.0.5" || disk.Service != "disk_root" ||
		disk.Interval != time.Minute || disk.Timeout != checkspec.DefaultTimeout {
		t.Errorf("disk_root resolved as %+v", disk)
	}
	if backup.Cron != "0 6 * * *" || backup.Interval != 0 || backup.Timeout != 2*time.Minute {
		t.Errorf("backup_age resolved as %+v", backup)
	}
	for _, c := range f.Checks {
		if got := c.Macros.Map(); got["USER5"] != "/opt/x" || len(got) != 1 {
			t.Errorf("%s: macros %v, want the file's USER5", c.Service, got)
		}
	}
}

func TestParseHostAddressDefaultsToHost(t *testing.T) {
	f, err := Parse("x", []byte("[[check]]\nservice = \"a\"\ncommand = \"b\"\n"), "db01")
	if err != nil {
		t.Fatal(err)
	}
	if c := f.Checks[0]; c.Host != "db01" || c.HostAddress != "db01" || c.Macros != "" {
		t.Errorf("got %+v", c)
	}
}

func TestParseEmpty(t *testing.T) {
	f, err := Parse("x", nil, "db01")
	if err != nil || len(f.Checks) != 0 {
		t.Errorf("empty file: %v, %+v", err, f)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string // each must appear in the error
	}{
		{"unknown top key", "host_adress = \"x\"\n", []string{"f.toml:1: host_adress: unknown key"}},
		{"unknown check key", "[[check]]\nservice = \"a\"\ncommand = \"b\"\ninterval = \"1m\"\nretries = 3\n", []string{"f.toml:5: check.retries: unknown key"}},
		{"syntax", "[[check]]\nservice = = \"a\"\n", []string{"f.toml:2"}},
		{"wrong type", "[[check]]\nservice = 5\n", []string{"f.toml:2"}},
		{"missing command", "[[check]]\nservice = \"a\"\n", []string{"f.toml:1: check[0].command: missing"}},
		{"cron and interval", "[[check]]\nservice = \"a\"\ncommand = \"b\"\ninterval = \"1m\"\ncron = \"@daily\"\n", []string{"f.toml:5: check[0].cron: set either interval or cron"}},
		{"bad duration", "[defaults]\ninterval = \"soon\"\n", []string{"f.toml:2", "invalid duration"}},
		{"reserved macro", "[macros]\nHOSTNAME = \"x\"\n", []string{"f.toml:2: macros.HOSTNAME: cannot be set"}},
		{"NUL in macro", "[macros]\nUSER2 = \"a\\u0000b\"\n", []string{"f.toml:2: macros.USER2: a macro value cannot hold a NUL"}},
		{"control in host_address", "host_address = \"10.0.0.5\\n\"\n", []string{"f.toml:1: host_address:"}},
		{"host_check with a line break", "\nhost_check = \"check_ping\\ndefine\"\n", []string{"f.toml:2: host_check:"}},
		{"host_check without a command", "host_check = \"!100\"\n", []string{"f.toml:1: host_check:"}},
		{"duplicate service", "[[check]]\nservice = \"a\"\ncommand = \"b\"\n[[check]]\nservice = \"a\"\ncommand = \"c\"\n", []string{"f.toml:5: check[1].service:", "also check[0]"}},
		{"every problem at once", "[macros]\nUSER1 = \"x\"\n[[check]]\nservice = \"a;b\"\ncommand = \"c\"\n",
			[]string{"f.toml:2: macros.USER1", "f.toml:4: check[0].service"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(tt.data), "web01")
			var ce *tomlfile.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want a *tomlfile.Error", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseRefusesBadHost(t *testing.T) {
	if _, err := Parse("f", nil, "../etc"); err == nil || !strings.Contains(err.Error(), "invalid host") {
		t.Errorf("err = %v", err)
	}
}

func TestValidHost(t *testing.T) {
	good := []string{"a", "web01", "web01.example.com", "db_2", "x-y", "A1", strings.Repeat("a", 63), "console", "com10", "nul1"}
	bad := []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden", "-x", "_x", "a..b", "web01.", "a b",
		"a%2f", "x:y", strings.Repeat("a", 64), "é", "con", "NUL", "aux.example.com", "com1", "LPT9.x", "a\x00"}
	for _, h := range good {
		if !ValidHost(h) {
			t.Errorf("ValidHost(%q) = false", h)
		}
	}
	for _, h := range bad {
		if ValidHost(h) {
			t.Errorf("ValidHost(%q) = true", h)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sampleTOML), "web01")
	f.Add([]byte("[[check]]\nservice = \"a\"\ncommand = \"b\"\ncron = \"CRON_TZ=Europe/Berlin 0 6 * * *\"\n"), "h")
	f.Add([]byte("[macros]\nUSER2 = \"a\\u0000b\"\n"), "h")
	f.Add([]byte("[defaults]\ntimeout_state = \"warning\"\nmax_attempts = -1\n"), "x.y")
	f.Fuzz(func(t *testing.T, data []byte, host string) {
		file, err := Parse("fuzz.toml", data, host)
		if err != nil {
			if file != nil {
				t.Fatal("a file and an error")
			}
			return
		}
		if !ValidHost(host) {
			t.Fatalf("accepted invalid host %q", host)
		}
		for _, c := range file.Checks {
			if c.Service == "" || c.Command == "" || (c.Interval == 0) == (c.Cron == "") {
				t.Fatalf("accepted an incomplete check %+v", c)
			}
			var names []string
			c.Macros.Each(func(n, _ string) { names = append(names, n) })
			if len(names) != len(file.Macros) {
				t.Fatalf("macros %q do not round-trip through the check (%d names)", c.Macros, len(names))
			}
		}
	})
}
