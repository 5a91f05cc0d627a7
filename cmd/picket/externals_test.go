package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/signing"
)

const externalsFile = `host_address = "10.0.0.5"

[macros]
USER5 = "s3cret"

[[check]]
service = "disk_root"
command = "check_disk -w 10% -c 5% -p /"
interval = "1m"

[[check]]
service = "backup_age"
command = "$USER5$/check_file_age -f /var/backups/last"
cron = "0 6 * * *"
timeout = "2m"

[[check]]
service = "off"
command = "x"
enabled = false
`

func writeExternalsFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExternalsCheckValid(t *testing.T) {
	path := writeExternalsFile(t, "web01.toml", externalsFile)
	code, out, errs := run("externals", "check", path)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		path + ": valid externals for host web01",
		"host_address 10.0.0.5; macros USER5 (values not shown)",
		"1 disabled check not listed",
		"SERVICE     SCHEDULE        TIMEOUT  COMMAND",
		"disk_root   every 1m        1m       check_disk -w 10% -c 5% -p /",
		"backup_age  cron 0 6 * * *  2m       $USER5$/check_file_age -f /var/backups/last",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") || strings.Contains(out, "off ") {
		t.Errorf("macro value or disabled check shown:\n%s", out)
	}

	// --host after FILE names the checks' host.
	code, out, _ = run("externals", "check", path, "--host", "db01")
	if code != exitOK || !strings.Contains(out, "for host db01") {
		t.Errorf("--host: exit %d\n%s", code, out)
	}
}

func TestExternalsCheckInvalid(t *testing.T) {
	bad := writeExternalsFile(t, "web01.toml", "[[check]]\nservice = \"x\"\ncommand = \"y\"\ninterval = \"1m\"\ncron = \"@daily\"\nretry = 1\n")
	code, out, errs := run("externals", "check", bad)
	if code != exitCritical || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errs, bad+":6: check.retry: unknown key") {
		t.Errorf("stderr %q", errs)
	}
	semantic := writeExternalsFile(t, "web01.toml", "[[check]]\nservice = \"x\"\ncommand = \"y\"\ninterval = \"1m\"\ncron = \"@daily\"\n")
	if code, _, errs := run("externals", "check", semantic); code != exitCritical || !strings.Contains(errs, semantic+":5: check[0].cron: set either interval or cron") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run("externals", "check", filepath.Join(t.TempDir(), "none.toml")); code != exitCritical || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", code, errs)
	}
}

func TestExternalsCheckSignature(t *testing.T) {
	pub, key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := writeExternalsFile(t, "web01.toml", externalsFile)
	pubArg := signing.FormatPublicKey(pub)
	if code, _, errs := run("externals", "check", "--public-key", pubArg, path); code != exitCritical || !strings.Contains(errs, "signature required") {
		t.Errorf("no .sig: exit %d, stderr %q", code, errs)
	}
	os.WriteFile(path+".sig", signing.SignV1(key, "web01", []byte(externalsFile)), 0o644)
	code, out, errs := run("externals", "check", "--public-key", pubArg, path)
	if code != exitOK || !strings.Contains(out, "signature valid") {
		t.Errorf("signed: exit %d, stderr %q\n%s", code, errs, out)
	}
	// The signature binds the host: the same file is not valid for another.
	if code, _, errs := run("externals", "check", "--public-key", pubArg, "--host", "web02", path); code != exitCritical || !strings.Contains(errs, "does not match") {
		t.Errorf("other host: exit %d, stderr %q", code, errs)
	}
}

func TestExternalsUsage(t *testing.T) {
	path := writeExternalsFile(t, "web01.toml", externalsFile)
	odd := writeExternalsFile(t, "my file.toml", externalsFile)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"externals"}, "Usage: picket externals check"},
		{[]string{"externals", "lint", path}, "Usage: picket externals check"},
		{[]string{"externals", "check"}, "Usage: picket externals check"},
		{[]string{"externals", "check", path, path}, "Usage: picket externals check"},
		{[]string{"externals", "check", "--nope", path}, "flag provided but not defined"},
		{[]string{"externals", "check", odd}, "give --host"},
		{[]string{"externals", "check", "--host", "../x", path}, "--host"},
		{[]string{"externals", "check", "--public-key", "rsa:abc", path}, "--public-key"},
	}
	for _, tt := range tests {
		code, _, errs := run(tt.args...)
		if code != exitUsage || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tt.args, code, errs, tt.want)
		}
	}
}
