package hub

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/nsca"
)

func writeFile(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigProblems(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "server.toml", "[nsca]\nlisten = \"5667\"\nencryption = \"aes\"\n", 0o600)
	_, err := LoadConfig(p)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{`nsca.listen: "5667" is not host:port`, `nsca.encryption: unknown encryption method "aes"`,
		"nsca.command_file: missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	p = writeFile(t, dir, "log.toml", "[http]\nlisten = \"127.0.0.1:0\"\n\n[log]\nlevel = \"loud\"\n", 0o600)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), `log.toml:5: log.level: "loud" is not a level`) {
		t.Errorf("err = %v", err)
	}
	p = writeFile(t, dir, "typo.toml", "[nsca]\ncommand_fle = \"/x\"\n", 0o600)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "typo.toml:2: nsca.command_fle: unknown key") {
		t.Errorf("err = %v", err)
	}
}

func TestFromNSCAConfig(t *testing.T) {
	n, err := FromNSCAConfig(nsca.ServerConfig{Port: 5667, Method: nsca.XOR, Password: []byte("pw"),
		CommandFile: "/var/lib/nagios4/rw/nagios.cmd", MaxPacketAge: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if n.Listen != ":5667" || n.Method != nsca.XOR || n.MaxPacketAge.Duration != 30*time.Second || n.QueueSize != DefaultQueueSize {
		t.Errorf("got %+v", n)
	}
	if _, err := FromNSCAConfig(nsca.ServerConfig{Port: 5667}); err == nil {
		t.Error("nsca.cfg without command_file accepted")
	}
}

// Packets from a real client become command-file lines, and a clean stop
// logs the totals without the password.
func TestRunWritesCommandFileLines(t *testing.T) {
	dir := t.TempDir()
	cmdFile := writeFile(t, dir, "nagios.cmd", "", 0o600)
	pw := writeFile(t, dir, "pw", "secret\n", 0o600)
	cfgPath := writeFile(t, dir, "server.toml", "state_dir = \""+dir+"\"\n[nsca]\nlisten = \"127.0.0.1:0\"\nencryption = \"aes256\"\npassword_file = \""+
		pw+"\"\ncommand_file = \""+cmdFile+"\"\n", 0o600)
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, logger, func(a Addrs) { addrc <- a.NSCA }) }()
	addr := (<-addrc).String()

	c, err := (&nsca.Dialer{Method: nsca.Rijndael128, Password: []byte("secret")}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	pkts := []nsca.Packet{
		{Host: "web01", Service: "disk", ReturnCode: 1, Output: "WARN\nlong \\ output"},
		{Host: "web01", ReturnCode: 0, Output: "up"},
	}
	if _, err := c.SendBatch(ctx, pkts); err != nil {
		t.Fatal(err)
	}
	c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(cmdFile)
		if bytes.Count(b, []byte("\n")) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(cmdFile)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []string{"PROCESS_SERVICE_CHECK_RESULT;web01;disk;1;WARN\\nlong \\\\ output", "PROCESS_HOST_CHECK_RESULT;web01;0;up"}
	if len(lines) != 2 {
		t.Fatalf("command file:\n%s", b)
	}
	for i, l := range lines {
		_, rest, _ := strings.Cut(l, "] ")
		if rest != want[i] {
			t.Errorf("line %d = %q, want %q", i, rest, want[i])
		}
	}
	if !strings.Contains(logs.String(), "packets=2") || strings.Contains(logs.String(), "secret") {
		t.Errorf("log:\n%s", logs.String())
	}
}

func TestRunWithoutNSCASection(t *testing.T) {
	if err := Run(context.Background(), &Config{}, slog.New(slog.DiscardHandler), nil); err == nil {
		t.Error("Run with nothing to serve succeeded")
	}
}

func TestLoadConfigHTTPProblems(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "server.toml", `state_dir = "rel"
[http]
listen = "8443"
tls_cert = "/nonexistent.crt"

[registration]
tokens_file = "/nonexistent.tokens"

[nagios]
objects_dir = "/etc/nagios4/objects/picket"
validate_command = "nagios4 -v 'open"
stale_state = "purple"
`, 0o600)
	_, err := LoadConfig(p)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		"server.toml:1: state_dir:",
		`server.toml:3: http.listen: "8443" is not host:port`,
		"server.toml:4: http.tls_cert: TLS needs both",
		"registration: needs [externals]",
		"server.toml:7: registration.tokens_file:",
		"registration.profiles: missing",
		"server.toml:11: nagios.validate_command: cannot split",
		"nagios.reload_command: missing, and no command_file",
		"server.toml:12: nagios.stale_state:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	p = writeFile(t, dir, "nsca.toml", "[nsca]\nencryption = \"none\"\ncommand_file = \"/x\"\nmax_connections = 10\nmax_connections_per_source = 20\n", 0o600)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "nsca.max_connections_per_source: 20 is more than max_connections (10)") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadConfigIdentityKeys(t *testing.T) {
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "secret\n", 0o600)
	key := writeFile(t, dir, "k", "x", 0o600)
	p := writeFile(t, dir, "server.toml", `[nsca]
encryption = "aes256"
password_file = "`+pw+`"
command_file = "/x"

[http]
listen = "127.0.0.1:0"

[externals]
dir = "`+dir+`/ext"
next_signing_key = "`+key+`"

[registration]
tokens_file = "`+key+`"
profiles = "`+key+`"
global_rate = -1.0
max_new_hosts_per_hour = -3

[nagios]
objects_dir = "`+dir+`/obj"
command_file = "/x"
min_reload_interval = "1s"
`, 0o600)
	_, err := LoadConfig(p)
	for _, want := range []string{"externals.next_signing_key: needs signing_key", "registration.global_rate: must not be negative",
		"registration.max_new_hosts_per_hour: must not be negative", "nagios.min_reload_interval: at least 2s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	p = writeFile(t, dir, "nsca.toml", "[nsca]\nencryption = \"none\"\ncommand_file = \"/x\"\nmax_connections = 10\nmax_connections_per_source = 20\n", 0o600)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "nsca.max_connections_per_source: 20 is more than max_connections (10)") {
		t.Errorf("err = %v", err)
	}
}
