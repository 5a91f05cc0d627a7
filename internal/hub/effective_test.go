package hub

import (
	"fmt"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/picket-monitoring/picket/nsca"
)

// The effective config names the files secrets are in, fills in the
// defaults, and holds no secret.
func TestEffectiveHidesSecrets(t *testing.T) {
	dir := t.TempDir()
	nscaPW := writeFile(t, dir, "nsca.pw", "nsca-Secret-1\n", 0o600)
	icingaPW := writeFile(t, dir, "icinga.pw", "icinga-Secret-2\n", 0o600)
	key := writeFile(t, dir, "tls.key", "-----BEGIN PRIVATE KEY-----\ntls-Secret-3\n", 0o600)
	cert := writeFile(t, dir, "tls.crt", "cert", 0o644)
	p := writeFile(t, dir, "server.toml", fmt.Sprintf(`state_dir = %[1]q

[nsca]
listen = "127.0.0.1:5667"
encryption = "14"
password_file = %[2]q
command_file = "/var/lib/nagios4/rw/nagios.cmd"

[http]
listen = "127.0.0.1:8443"
tls_cert = %[3]q
tls_key = %[4]q

[externals]
dir = "%[1]s/externals"

[nagios]
objects_dir = "%[1]s/objects"

[icinga2]
url = "https://api:url-Secret-4@icinga.example.com:5665"
user = "api"
password_file = %[5]q
`, dir, nscaPW, cert, key, icingaPW), 0o600)
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Effective("")
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, secret := range []string{"nsca-Secret-1", "icinga-Secret-2", "tls-Secret-3", "url-Secret-4"} {
		if strings.Contains(text, secret) {
			t.Errorf("effective config shows %q:\n%s", secret, text)
		}
	}
	for _, want := range []string{
		"# effective configuration of " + p + "; secrets masked\n",
		fmt.Sprintf("control_socket = %q", ControlPath(cfg)),
		fmt.Sprintf("encryption = %q", nsca.Rijndael128.String()),
		fmt.Sprintf("password_file = %q", nscaPW),
		fmt.Sprintf("tls_key = %q", key),
		fmt.Sprintf("password_file = %q", icingaPW),
		`max_packet_age = "5m"`,
		`queue_size = 100000`,
		`host_template = "generic-host"`,
		`stale_state = "UNKNOWN"`,
		`scan_interval = "30s"`,
		`command_file = "/var/lib/nagios4/rw/nagios.cmd"`, // [nagios] takes [nsca]'s
		`level = "info"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("effective config lacks %q:\n%s", want, text)
		}
	}
	// It is a config picket server loads as it is.
	var back Config
	if _, err := toml.Decode(text, &back); err != nil || back.NSCA == nil || back.NSCA.Encryption != nsca.Rijndael128.String() {
		t.Errorf("effective config does not read back (%v):\n%s", err, text)
	}
	if cfg.NSCA.Encryption != "14" {
		t.Errorf("Effective changed the config it renders: encryption %q", cfg.NSCA.Encryption)
	}
}

func TestEffectiveFromNSCAConfig(t *testing.T) {
	n, err := FromNSCAConfig(nsca.ServerConfig{Port: 5667, Method: nsca.Rijndael128, Password: []byte("nsca-cfg-Secret"),
		CommandFile: "/var/lib/nagios4/rw/nagios.cmd"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := (&Config{NSCA: n}).Effective("/etc/nsca.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if text := string(out); strings.Contains(text, "nsca-cfg-Secret") || !strings.Contains(text, "# [nsca] taken from /etc/nsca.cfg") {
		t.Errorf("effective config:\n%s", text)
	}
}
