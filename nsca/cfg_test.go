package nsca

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReadClientConfig(t *testing.T) {
	c, err := ReadClientConfig(strings.NewReader("# comment\n\npassword=p=w d \nencryption_method=14\nlegacy_2_7_mode=yes\n"), "send_nsca.cfg")
	if err != nil {
		t.Fatal(err)
	}
	// The value runs to the end of the line, '=' and trailing space included,
	// as send_nsca reads it.
	if string(c.Password) != "p=w d " || c.Method != Rijndael128 || !c.Legacy {
		t.Errorf("got %+v", c)
	}
	for in, want := range map[string]string{
		"password=x\nencryption_method=aes\n": "send_nsca.cfg:2: encryption_method: unknown encryption method",
		"bogus=1\n":                           "send_nsca.cfg:1: bogus: unknown option",
		"password=\n":                         "send_nsca.cfg:1: password: no value",
		"legacy_2_7_mode=maybe\n":             "send_nsca.cfg:1: legacy_2_7_mode: want yes/no",
	} {
		_, err := ReadClientConfig(strings.NewReader(in), "send_nsca.cfg")
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}

func TestReadServerConfig(t *testing.T) {
	in := `# nsca.cfg as Debian ships it, plus a password
pid_file=/run/nagios/nsca.pid
server_port=5667
server_address=127.0.0.1
nsca_user=nagios
nsca_group=nogroup
debug=0
command_file=/var/lib/nagios4/rw/nagios.cmd
alternate_dump_file=/run/nagios/nsca.dump
aggregate_writes=0
append_to_file=0
max_packet_age=30
password=secret
decryption_method=1
`
	c, err := ReadServerConfig(strings.NewReader(in), "nsca.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 5667 || c.Address != "127.0.0.1" || c.CommandFile != "/var/lib/nagios4/rw/nagios.cmd" ||
		string(c.Password) != "secret" || c.Method != XOR || c.MaxPacketAge != 30*time.Second || c.AppendToFile {
		t.Errorf("got %+v", c)
	}
	for in, want := range map[string]string{
		"server_port=70000\n":       "nsca.cfg:1: server_port: invalid port",
		"max_packet_age=901\n":      "nsca.cfg:1: max_packet_age: want seconds from 0 to 900",
		"decryption_method=12\n":    "unknown encryption method 12",
		"\n\nsomething_else=1\n":    "nsca.cfg:3: something_else: unknown option",
		"decryption_method=twofish": "", // names are accepted too
	} {
		_, err := ReadServerConfig(strings.NewReader(in), "nsca.cfg")
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}
