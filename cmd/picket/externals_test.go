package main

import (
	"os"
	"os/exec"
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
	// A v1 signature is refused, as the agent refuses it from the network.
	os.WriteFile(path+".sig", signing.SignV1(key, "web01", []byte(externalsFile)), 0o644)
	if code, _, errs := run("externals", "check", "--public-key", pubArg, path); code != exitCritical || !strings.Contains(errs, "a v1 signature") {
		t.Errorf("v1: exit %d, stderr %q", code, errs)
	}
	os.WriteFile(path+".sig", signing.SignExternals(key, "web01", 77, "", []byte(externalsFile)).File(), 0o644)
	code, out, errs := run("externals", "check", "--public-key", pubArg, path)
	if code != exitOK || !strings.Contains(out, "signature valid, serial 77") {
		t.Errorf("signed: exit %d, stderr %q\n%s", code, errs, out)
	}
	// The signature binds the host: the same file is not valid for another.
	if code, _, errs := run("externals", "check", "--public-key", pubArg, "--host", "web02", path); code != exitCritical || !strings.Contains(errs, "does not match") {
		t.Errorf("other host: exit %d, stderr %q", code, errs)
	}
}

// The doc's recipe for signing by hand with OpenSSL gives a file the agent
// accepts.
func TestExternalsCheckOpenSSLSignature(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if testing.Short() {
			t.Skip("openssl: not installed (Debian package openssl)")
		}
		t.Fatal("openssl not found: install Debian's openssl package")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "web01.toml")
	os.WriteFile(path, []byte(externalsFile), 0o644)
	script := `set -e
openssl genpkey -algorithm ed25519 -out externals.key 2>/dev/null
serial=$(date +%s%N)
{ printf 'picket-externals-v2\0%s\0%s\0\0' web01 "$serial"; cat web01.toml; } > msg
sig=$(openssl pkeyutl -sign -rawin -inkey externals.key -in msg | base64 -w0)
echo "v2 serial=$serial sig=$sig" > web01.toml.sig
echo "ed25519:$(openssl pkey -in externals.key -pubout -outform DER | tail -c 32 | base64)"
`
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl recipe: %v", err)
	}
	code, stdout, errs := run("externals", "check", "--public-key", strings.TrimSpace(string(out)), path)
	if code != exitOK || !strings.Contains(stdout, "signature valid") {
		t.Errorf("exit %d, stderr %q\n%s", code, errs, stdout)
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
