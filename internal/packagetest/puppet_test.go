//go:build linux

package packagetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/BurntSushi/toml"
)

// The Puppet module packaging/puppet/picket is checked four ways: Puppet's
// own parser and puppet-lint; rspec-puppet catalog tests (the module's
// spec/); its template rendered with hostile strings and read back by a
// TOML parser; and a real `puppet apply` that installs the deb built by
// packaging/linux/build.sh on this machine.

func puppetModule() string { return filepath.Join(repoRoot, "packaging", "puppet", "picket") }

// puppetFlags keep every file a puppet command writes (state, reports,
// ssl, the last-run summary Debian puts in /var/cache/puppet) in dir.
func puppetFlags(dir string) []string {
	var args []string
	for _, s := range []string{"confdir", "vardir", "codedir", "logdir", "rundir", "ssldir", "publicdir"} {
		args = append(args, "--"+s, filepath.Join(dir, s))
	}
	return append(args, "--modulepath", filepath.Dir(puppetModule()), "--color", "false")
}

// puppetFiles lists the module's files matching a glob under its root.
func puppetFiles(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(puppetModule(), pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s in %s (%v)", pattern, puppetModule(), err)
	}
	return files
}

func TestPuppetParserValidate(t *testing.T) {
	needPackaging(t)
	t.Parallel()
	puppet := tool(t, "puppet", "puppet")
	flags := puppetFlags(t.TempDir())
	manifests := append(puppetFiles(t, "manifests/*.pp"), puppetFiles(t, "types/*.pp")...)
	run(t, puppetModule(), nil, puppet, append(append([]string{"parser", "validate"}, flags...), manifests...)...)
	templates := puppetFiles(t, "templates/*.epp")
	run(t, puppetModule(), nil, puppet, append(append([]string{"epp", "validate"}, flags...), templates...)...)
}

func TestPuppetLint(t *testing.T) {
	needPackaging(t)
	t.Parallel()
	lint := tool(t, "puppet-lint", "puppet-lint")
	// Absolute paths: with relative ones puppet-lint takes the module's
	// name from $PWD, which is go test's folder, not the module's.
	m := puppetModule()
	out := run(t, m, nil, lint, "--fail-on-warnings", filepath.Join(m, "manifests"), filepath.Join(m, "types"))
	if strings.TrimSpace(out) != "" {
		t.Errorf("puppet-lint printed:\n%s", out)
	}
}

// TestPuppetCatalog runs the module's rspec-puppet specs (catalogs compiled
// for every parameter set the module documents, and the TOML function),
// one subtest per example.
func TestPuppetCatalog(t *testing.T) {
	needPackaging(t)
	t.Parallel()
	rspec := tool(t, "rspec", "ruby-rspec-puppet")
	stdout, stderr, err := runErr(t, puppetModule(), nil, rspec, "--format", "json", "spec")
	if strings.Contains(stderr, "cannot load such file -- rspec-puppet") {
		t.Fatalf("rspec-puppet is missing: install Debian's ruby-rspec-puppet package\n%s", stderr)
	}
	var report struct {
		Examples []struct {
			Description string `json:"full_description"`
			Status      string `json:"status"`
			File        string `json:"file_path"`
			Line        int    `json:"line_number"`
			Exception   *struct {
				Message string `json:"message"`
			} `json:"exception"`
		} `json:"examples"`
		Summary struct {
			Errors int `json:"errors_outside_of_examples_count"`
		} `json:"summary"`
	}
	if jerr := json.Unmarshal([]byte(stdout), &report); jerr != nil || len(report.Examples) == 0 || report.Summary.Errors > 0 {
		t.Fatalf("rspec did not run the specs (%v, json: %v)\nstdout:\n%s\nstderr:\n%s", err, jerr, stdout, stderr)
	}
	for _, ex := range report.Examples {
		t.Run(ex.Description, func(t *testing.T) {
			switch ex.Status {
			case "passed":
			case "failed":
				msg := ""
				if ex.Exception != nil {
					msg = ex.Exception.Message
				}
				t.Errorf("%s:%d: %s", ex.File, ex.Line, msg)
			default:
				t.Errorf("%s:%d: %s", ex.File, ex.Line, ex.Status)
			}
		})
	}
	if err != nil && !t.Failed() {
		t.Fatalf("rspec failed though every example passed: %v\n%s", err, stderr)
	}
}

// TestPuppetTemplateTOML renders the config template with strings a TOML
// writer gets wrong (quotes, backslashes, newlines, control characters,
// non-ASCII) and reads the result back with a TOML parser: every value
// must come back exactly.
func TestPuppetTemplateTOML(t *testing.T) {
	needPackaging(t)
	t.Parallel()
	puppet := tool(t, "puppet", "puppet")
	dir := t.TempDir()
	hostile := "we\"b\\01\n[x]\t\x01\x1f\x7f é ✓ '''"
	values := map[string]any{
		"hostname":    hostile,
		"plugin_dirs": []string{`/opt/"plugins"`, `/opt/back\slash`},
		"targets": []map[string]any{
			{"address": `nagios"1\:5667`, "group": "dc\"2", "encryption": "aes256", "timeout": "10s", "legacy": true},
			{"address": "nagios2:5667"},
		},
		"password_file":        `/etc/picket/nsca "secret"`,
		"externals_url":        `https://hub.example.com/"ext"\`,
		"externals_ca_file":    "/etc/picket/ca\n.pem",
		"externals_public_key": nil,
		"proxy":                `http://u:p"w@proxy\:3128`,
		"registration_url":     "https://hub.example.com/v1/register",
		"token_file":           "/etc/picket/register.token",
		"metadata":             []string{`li"nux`, `w\eb`},
		"log_level":            "debug",
		"log_file":             `/var/log/picket/"a".log`,
		"extra_config":         "[[check]]\nservice = \"x\"\ncommand = \"check_x\"\ninterval = \"1m\"",
	}
	// JSON is YAML, which is what --values_file reads, once DEL (which
	// encoding/json leaves raw and YAML refuses) is escaped too.
	data, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte{0x7f}, []byte(`\u007f`))
	valuesFile := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(valuesFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"epp", "render"}, puppetFlags(dir)...)
	args = append(args, "--values_file", valuesFile, filepath.Join(puppetModule(), "templates", "picket.toml.epp"))
	out := run(t, dir, nil, puppet, args...)

	var got map[string]any
	if _, err := toml.Decode(out, &got); err != nil {
		t.Fatalf("the rendered config is not TOML: %v\n%s", err, out)
	}
	want := map[string]any{
		"hostname":    hostile,
		"plugin_dirs": []any{`/opt/"plugins"`, `/opt/back\slash`},
		"target": []map[string]any{
			{"address": `nagios"1\:5667`, "group": "dc\"2", "encryption": "aes256", "password_file": `/etc/picket/nsca "secret"`, "timeout": "10s", "legacy": true},
			{"address": "nagios2:5667", "password_file": `/etc/picket/nsca "secret"`},
		},
		"externals": map[string]any{"url": `https://hub.example.com/"ext"\`, "ca_file": "/etc/picket/ca\n.pem", "proxy": `http://u:p"w@proxy\:3128`},
		"autoreg": map[string]any{
			"url": "https://hub.example.com/v1/register", "token_file": "/etc/picket/register.token",
			"metadata": []any{`li"nux`, `w\eb`},
		},
		"log":   map[string]any{"level": "debug", "file": `/var/log/picket/"a".log`},
		"check": []map[string]any{{"service": "x", "command": "check_x", "interval": "1m"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back:\n%#v\nwant:\n%#v\nrendered:\n%s", got, want, out)
	}
	if !strings.HasPrefix(out, "# Managed by Puppet") {
		t.Errorf("the config does not begin with the managed-by-Puppet header:\n%s", out)
	}
}

// puppetApply runs `puppet apply --detailed-exitcodes` and returns its exit
// code (0 nothing changed, 2 changes, 4 and 6 failures) and its output.
func puppetApply(t *testing.T, puppet, dir, manifest string) (int, string) {
	t.Helper()
	args := append([]string{"apply", "--detailed-exitcodes"}, puppetFlags(dir)...)
	stdout, stderr, err := runErr(t, dir, nil, puppet, append(args, manifest)...)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout + stderr
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout + stderr
	default:
		t.Fatalf("puppet apply: %v\n%s%s", err, stdout, stderr)
		return 0, ""
	}
}

// puppetOwner checks a file's owner, group and mode.
func puppetOwner(t *testing.T, path, owner, group string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	u, err := user.LookupId(strconv.Itoa(int(st.Uid)))
	if err != nil {
		t.Errorf("%s: owner %d: %v", path, st.Uid, err)
		return
	}
	g, err := user.LookupGroupId(strconv.Itoa(int(st.Gid)))
	if err != nil {
		t.Errorf("%s: group %d: %v", path, st.Gid, err)
		return
	}
	if u.Username != owner || g.Name != group || fi.Mode().Perm() != mode {
		t.Errorf("%s is %s:%s %04o, want %s:%s %04o", path, u.Username, g.Name, fi.Mode().Perm(), owner, group, mode)
	}
}

func puppetFileIs(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
	} else if string(b) != want {
		t.Errorf("%s:\n%s\nwant:\n%s", path, b, want)
	}
}

// TestPuppetApply applies the module for real, as an operator would with
// a deb in hand: it installs the package built by packaging/linux/build.sh
// from package_source, writes the config, secrets and a plugin, and the
// agent accepts the result. A second apply changes nothing. The service is
// not managed: the test machine has no systemd to run it.
func TestPuppetApply(t *testing.T) {
	needPackaging(t)
	needRoot(t)
	puppet := tool(t, "puppet", "puppet")
	dpkg := tool(t, "dpkg", "dpkg")
	tool(t, "userdel", "passwd")
	build := filepath.Join(repoRoot, "packaging", "linux", "build.sh")
	dir := t.TempDir()

	// The deb, as `make package` builds it.
	out := run(t, repoRoot, []string{
		"VERSION=1.2.3", "ARCH=" + runtime.GOARCH, "BIN=" + linuxBin, "OUT=" + dir, "SOURCE_DATE_EPOCH=1700000000",
	}, build)
	deb := filepath.Join(dir, "picket_1.2.3_"+runtime.GOARCH+".deb")
	if !strings.Contains(out, deb) {
		t.Fatalf("build.sh printed %q, not %s", out, deb)
	}

	lockPackageInstalls(t)
	if st, _, _ := runErr(t, "", nil, "dpkg-query", "-W", "-f", "${Status}", "picket"); strings.Contains(st, " installed") {
		t.Fatalf("picket is already installed (%s): this test installs and purges it; dpkg --purge picket first", st)
	}
	_, userErr := user.Lookup("picket")
	_, groupErr := user.LookupGroup("picket")
	_, etcErr := os.Stat("/etc/picket")
	t.Cleanup(func() {
		// The machine as it was: no package, no config, and no account
		// unless there was one before.
		if _, stderr, err := runErr(t, "", nil, dpkg, "--purge", "picket"); err != nil {
			t.Errorf("dpkg --purge picket: %v\n%s", err, stderr)
		}
		if os.IsNotExist(etcErr) {
			os.RemoveAll("/etc/picket")
		}
		if userErr != nil {
			if _, err := user.Lookup("picket"); err == nil {
				if _, stderr, err := runErr(t, "", nil, "userdel", "picket"); err != nil {
					t.Errorf("userdel picket: %v\n%s", err, stderr)
				}
			}
		}
		if groupErr != nil {
			if _, err := user.LookupGroup("picket"); err == nil {
				if _, stderr, err := runErr(t, "", nil, "groupdel", "picket"); err != nil {
					t.Errorf("groupdel picket: %v\n%s", err, stderr)
				}
			}
		}
	})

	const password, token = "s3cret \"pw\"", "reg-token-123"
	manifest := filepath.Join(dir, "site.pp")
	site := `class { 'picket':
  package_source        => '` + deb + `',
  manage_service        => false,
  hostname              => 'web01',
  targets               => [
    { address => '127.0.0.1', port => 5667, encryption => 'aes256' },
    { address => '127.0.0.1:5668', group => 'dc2', encryption => 'none', timeout => '10s' },
  ],
  nsca_password         => Sensitive('s3cret "pw"'),
  externals_url         => 'https://hub.example.com:8443/externals/',
  registration_url      => 'https://hub.example.com:8443/v1/register',
  registration_token    => Sensitive('` + token + `'),
  registration_metadata => ['linux', 'web'],
  plugins               => { 'check_hello' => { content => "#!/bin/sh\necho 'HELLO OK - from puppet'\n" } },
  log_level             => 'debug',
  extra_config          => "[[check]]\nservice = \"hello\"\ncommand = \"check_hello\"\ninterval = \"1m\"\n",
}
`
	if err := os.WriteFile(manifest, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}

	code, log := puppetApply(t, puppet, dir, manifest)
	if code != 2 {
		t.Fatalf("first puppet apply exited %d, want 2 (changes, no failures):\n%s", code, log)
	}
	if strings.Contains(log, "s3cret") || strings.Contains(log, token) {
		t.Errorf("puppet apply printed a secret:\n%s", log)
	}
	status := run(t, "", nil, "dpkg-query", "-W", "-f", "${Status} ${Version}", "picket")
	if status != "install ok installed 1.2.3" {
		t.Errorf("dpkg-query: %q, want the deb installed", status)
	}

	wantConfig := `# Managed by Puppet (module picket): local changes are overwritten.
# Reference: picket's README, "The agent". Check with: picket config check
hostname = "web01"
plugin_dirs = ["/usr/lib/nagios/plugins", "/etc/picket/plugins.d"]

[[target]]
address = "127.0.0.1:5667"
encryption = "aes256"
password_file = "/etc/picket/nsca.secret"

[[target]]
address = "127.0.0.1:5668"
group = "dc2"
encryption = "none"
password_file = "/etc/picket/nsca.secret"
timeout = "10s"

[externals]
url = "https://hub.example.com:8443/externals/"

[autoreg]
url = "https://hub.example.com:8443/v1/register"
token_file = "/etc/picket/register.token"
metadata = ["linux", "web"]

[log]
level = "debug"

[[check]]
service = "hello"
command = "check_hello"
interval = "1m"
`
	puppetFileIs(t, "/etc/picket/picket.toml", wantConfig)
	puppetOwner(t, "/etc/picket/picket.toml", "root", "picket", 0o640)
	puppetFileIs(t, "/etc/picket/nsca.secret", password)
	puppetOwner(t, "/etc/picket/nsca.secret", "root", "picket", 0o640)
	puppetFileIs(t, "/etc/picket/register.token", token)
	puppetOwner(t, "/etc/picket/register.token", "root", "picket", 0o640)
	puppetFileIs(t, "/etc/picket/plugins.d/check_hello", "#!/bin/sh\necho 'HELLO OK - from puppet'\n")
	puppetOwner(t, "/etc/picket/plugins.d/check_hello", "root", "picket", 0o750)
	puppetOwner(t, "/etc/picket/plugins.d", "root", "root", 0o755)

	// The installed agent takes the file, finds the deployed plugin
	// through plugin_dirs and runs it.
	effective := run(t, "", nil, "/usr/bin/picket", "config", "check", "--strict", "/etc/picket/picket.toml")
	if !strings.Contains(effective, `password_file = "/etc/picket/nsca.secret"`) || strings.Contains(effective, "s3cret") {
		t.Errorf("picket config check printed:\n%s", effective)
	}
	if got := run(t, "", nil, "/usr/bin/picket", "check", "--config", "/etc/picket/picket.toml", "hello"); !strings.Contains(got, "HELLO OK - from puppet") {
		t.Errorf("picket check hello printed:\n%s", got)
	}

	if code, log := puppetApply(t, puppet, dir, manifest); code != 0 {
		t.Errorf("second puppet apply exited %d, want 0 (nothing to change):\n%s", code, log)
	}
}
