package autoreg

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// agentMessage is what the agent's own config says of one [[check]]
// written as check.
func agentMessage(t *testing.T, check string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "picket.toml")
	os.WriteFile(path, []byte("hostname = \"db07\"\n\n[[check]]\n"+check+"\n"), 0o600)
	_, err := config.Load(path)
	var te *tomlfile.Error
	if !errors.As(err, &te) {
		t.Fatalf("the agent accepts %q: %v", check, err)
	}
	for _, p := range te.Problems {
		if strings.HasPrefix(p.Field, "check[0]") {
			return p.Msg
		}
	}
	t.Fatalf("no problem with check[0] in %v", err)
	return ""
}

// A registration's services are refused exactly where the agent would
// refuse them in its own config, with the agent's message.
func TestCheckRequestAsStrictAsTheAgent(t *testing.T) {
	for _, tt := range []struct {
		name  string
		svc   Service
		check string // the same, as the agent's [[check]]
		field string
	}{
		{"bad cron", Service{Service: "backup", Cron: "61 * * * *"}, "service = \"backup\"\ncommand = \"x\"\ncron = \"61 * * * *\"", "services[0].cron"},
		{"cron never fires", Service{Service: "backup", Cron: "0 0 30 2 *"}, "service = \"backup\"\ncommand = \"x\"\ncron = \"0 0 30 2 *\"", "services[0].cron"},
		{"bad zone", Service{Service: "backup", Cron: "CRON_TZ=Mars/Olympus 0 6 * * *"}, "service = \"backup\"\ncommand = \"x\"\ncron = \"CRON_TZ=Mars/Olympus 0 6 * * *\"", "services[0].cron"},
		{"interval and cron", Service{Service: "backup", Cron: "0 6 * * *", IntervalSeconds: 60}, "service = \"backup\"\ncommand = \"x\"\ncron = \"0 6 * * *\"\ninterval = \"1m\"", "services[0].cron"},
		{"semicolon", Service{Service: "a;b"}, "service = \"a;b\"\ncommand = \"x\"", "services[0].service"},
		{"too long", Service{Service: strings.Repeat("s", 128)}, "service = \"" + strings.Repeat("s", 128) + "\"\ncommand = \"x\"", "services[0].service"},
		{"no name", Service{}, "command = \"x\"", "services[0].service"},
		{"host with tab", Service{Service: "x", Host: "a\tb"}, "service = \"x\"\ncommand = \"x\"\nhost = \"a\\tb\"", "services[0].host"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := agentMessage(t, tt.check)
			err := checkRequest(Request{Hostname: "db07", Services: []Service{tt.svc}}, "db07")
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tt.field+": "+want) {
				t.Errorf("err = %v\nwant %s: %s", err, tt.field, want)
			}
		})
	}
}

func TestCheckRequestFacts(t *testing.T) {
	for _, tt := range []struct {
		req  Request
		want string
	}{
		{Request{Services: []Service{{Service: "a", IntervalSeconds: -1}}}, "services[0].interval_s: must not be negative"},
		{Request{Services: []Service{{Service: "a", TimeoutSeconds: 1 << 62}}}, "services[0].timeout_s: 4611686018427387904 seconds is longer"},
		{Request{Services: []Service{{Service: "a", IntervalSeconds: 60}, {Service: "a", IntervalSeconds: 60}}}, "services[1].service: \"a\" on host db07 is also check[0]"},
		{Request{Services: []Service{{Service: "a", Host: "../etc"}}}, "services[0].host"},
		{Request{Addresses: []string{"10.0.0.1\ncfg_file=/etc/passwd"}}, "addresses[0]"},
		{Request{Addresses: []string{"6.6.6.6", "web01"}}, "addresses[1]: \"web01\" is not an IP address"},
		{Request{OS: "linux\x00"}, "os: holds control characters"},
		{Request{PublicKey: "rsa:abc"}, "public_key"},
		{Request{Metadata: []string{"a\nb"}}, "metadata[0]"},
		{Request{Plugins: []Plugin{{Name: "../x"}}}, "plugins[0].name"},
	} {
		err := checkRequest(tt.req, "db07")
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v, want %q", tt.req, err, tt.want)
		}
	}
	ok := Request{Addresses: []string{"192.0.2.1", "fe80::1"}, Services: []Service{
		{Service: "picket_poller"}, {Service: "backup", Cron: "CRON_TZ=UTC 0 6 * * *", TimeoutSeconds: 120},
		{Host: "router1", Service: "ping", IntervalSeconds: 10},
	}}
	if err := checkRequest(ok, "db07"); err != nil {
		t.Errorf("good request: %v", err)
	}
}
