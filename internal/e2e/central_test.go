package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The central loop with a real Nagios 4: an agent with no externals
// registers at picket server, which renders its externals from a profile,
// signs them, writes the Nagios objects, validates them with nagios4 -v and
// makes Nagios restart; the agent pulls its signed externals, runs real
// plugins and its results reach Nagios' status.dat. Stopped, the agent's
// services turn stale within the threshold picket server derived.

// centralBase is what a site's Nagios already defines: the templates the
// objects picket writes use, and one host of its own.
const centralBase = `define timeperiod {
  timeperiod_name 24x7
  alias 24x7
  sunday 00:00-24:00
  monday 00:00-24:00
  tuesday 00:00-24:00
  wednesday 00:00-24:00
  thursday 00:00-24:00
  friday 00:00-24:00
  saturday 00:00-24:00
}
define command {
  command_name notify_nobody
  command_line /bin/true
}
define contact {
  contact_name nobody
  host_notifications_enabled 0
  service_notifications_enabled 0
  host_notification_period 24x7
  service_notification_period 24x7
  host_notification_options n
  service_notification_options n
  host_notification_commands notify_nobody
  service_notification_commands notify_nobody
}
define host {
  name generic-host
  register 0
  max_check_attempts 1
  check_period 24x7
  contacts nobody
  notification_interval 0
  notification_period 24x7
}
define service {
  name generic-service
  register 0
  max_check_attempts 1
  check_interval 5
  retry_interval 1
  check_period 24x7
  contacts nobody
  notification_interval 0
  notification_period 24x7
}
define host {
  use generic-host
  host_name nagios-self
  address 127.0.0.1
  check_command notify_nobody
  active_checks_enabled 0
}
define service {
  use generic-service
  host_name nagios-self
  service_description self
  check_command notify_nobody
  active_checks_enabled 0
}
`

// centralProfile checks with plugins every Debian machine with
// monitoring-plugins-basic has.
const centralProfile = `[defaults]
interval = "10s"
timeout = "5s"
max_attempts = 1

[[check]]
service = "load"
command = "check_load -w 50,50,50 -c 100,100,100"

[[check]]
service = "root_disk"
command = "check_disk -w 1% -c 1% -p /"

[[check]]
service = "registered"
command = "check_dummy 0 'registered as {{.Host}} on {{.OS}}'"

# Sent only when it changes, and again every 40s (more than the 28s a
# 10s check's threshold would be): Nagios' threshold must follow the
# heartbeat, or this steady check would look stale between two.
[[check]]
service = "steady"
command = "check_dummy 0 'steady'"
send = "change"
heartbeat = "40s"

# Fails for good, with retries that would come less often than its
# interval: the agent must keep it on its interval, so it never looks stale.
[[check]]
service = "failing"
command = "check_dummy 2 'failing on purpose'"
max_attempts = 10
retry_interval = "40s"
`

func TestRegisterIntoNagios(t *testing.T) {
	needE2E(t)
	for _, p := range []string{"check_load", "check_disk", "check_dummy"} {
		peer(t, pluginDir+"/"+p)
	}
	dir := t.TempDir()
	objects := filepath.Join(dir, "objects")
	if err := os.Mkdir(objects, 0o755); err != nil {
		t.Fatal(err)
	}
	ng := startNagiosWith(t, centralBase, fmt.Sprintf(`cfg_dir=%s
execute_service_checks=1
check_service_freshness=1
service_freshness_check_interval=1
check_host_freshness=1
host_freshness_check_interval=1
additional_freshness_latency=1
`, objects))

	// The central side, as an administrator sets it up.
	keyOut := run(t, nil, picketBin, "server", "keygen", "--key", filepath.Join(dir, "externals.key"))
	if keyOut.Code != 0 || !strings.HasPrefix(keyOut.Stdout, "public_key = \"ed25519:") {
		t.Fatalf("picket server keygen: %v", keyOut)
	}
	certFile, keyFile := selfSignedCert(t, dir)
	writeFile(t, filepath.Join(dir, "nsca.secret"), "central-pw\n", 0o600)
	writeFile(t, filepath.Join(dir, "register.tokens"), "# tokens\nfleet-token-1\n", 0o600)
	writeFile(t, filepath.Join(dir, "profiles", "linux.toml"), centralProfile, 0o644)
	writeFile(t, filepath.Join(dir, "profiles.toml"), "templates_dir = \"profiles\"\n\n[[rule]]\nprofile = \"linux\"\nos = \"linux\"\nmetadata = [\"e2e\"]\n", 0o644)
	httpPort := freePort(t)
	serverCfg := filepath.Join(dir, "server.toml")
	server := startDaemon(t, "picket server", picketBin, func(port int) []string {
		writeFile(t, serverCfg, fmt.Sprintf(`state_dir = %[1]q

[nsca]
listen = "127.0.0.1:%[2]d"
encryption = "aes256"
password_file = "%[1]s/nsca.secret"
command_file = %[3]q

[http]
listen = "127.0.0.1:%[4]d"
tls_cert = %[5]q
tls_key = %[6]q

[externals]
dir = "%[1]s/externals"
signing_key = "%[1]s/externals.key"

[registration]
tokens_file = "%[1]s/register.tokens"
profiles = "%[1]s/profiles.toml"

[nagios]
objects_dir = %[7]q
validate_command = "%[8]s -v %[9]s"
freshness_slack = "3s"
health_interval = "10s"
scan_interval = "2s"
`, dir, port, ng.CommandFile, httpPort, certFile, keyFile, objects, ng.Bin, ng.Config()), 0o600)
		return []string{"server", "--config", serverCfg}
	})

	// The agent, as an installer leaves it: targets, where to register,
	// the signing key; no checks and no externals.
	agentDir := filepath.Join(dir, "agent")
	writeFile(t, filepath.Join(agentDir, "nsca.secret"), "central-pw\n", 0o600)
	writeFile(t, filepath.Join(agentDir, "register.token"), "fleet-token-1\n", 0o600)
	agentCfg := writeFile(t, filepath.Join(agentDir, "picket.toml"), fmt.Sprintf(`hostname = "E2E-Agent"
plugin_dirs = [%[1]q]
state_dir = %[2]q

[[target]]
address = %[3]q
encryption = "aes256"
password_file = "%[2]s/nsca.secret"

[externals]
url = "https://127.0.0.1:%[4]d/externals/"
ca_file = %[5]q
%[6]s
interval = "10s"

[autoreg]
url = "https://127.0.0.1:%[4]d/v1/register"
token_file = "%[2]s/register.token"
metadata = ["e2e"]

[health]
interval = "10s"
`, pluginDir, agentDir, server.Addr, httpPort, certFile, strings.TrimSpace(keyOut.Stdout)), 0o600)
	started := time.Now()
	agent := startProcess(t, "picket run", picketBin, "run", "--config", agentCfg, "--log-level", "debug")

	// The server lower-cases the name; the agent takes the assignment.
	const host = "e2e-agent"
	st := &nagiosStatus{path: ng.StatusFile}
	for _, svc := range []string{"load", "root_disk", "registered", "failing", "steady", "picket_poller", "picket_spooler", "picket_externals"} {
		st.wait(t, 60*time.Second, host, svc, func(f map[string]string) bool { return f["has_been_checked"] == "1" && f["check_type"] == "1" })
	}
	// The host is UP by the agent's own report, passive, with its version.
	hs := st.wait(t, 30*time.Second, host, "", func(f map[string]string) bool { return f["has_been_checked"] == "1" })
	if hs["current_state"] != "0" || hs["check_type"] != "1" || !strings.HasPrefix(hs["plugin_output"], "PICKET OK - agent ") {
		t.Errorf("host status: state %s, check_type %s, output %q", hs["current_state"], hs["check_type"], hs["plugin_output"])
	}
	reg := st.wait(t, 5*time.Second, host, "registered", nil)
	if reg["plugin_output"] != "OK: registered as e2e-agent on linux" {
		t.Errorf("registered: plugin_output %q", reg["plugin_output"])
	}
	ext := st.wait(t, 5*time.Second, host, "picket_externals", nil)
	if !strings.HasPrefix(ext["plugin_output"], "EXTERNALS OK") || ext["current_state"] != "0" {
		t.Errorf("picket_externals: %q state %s", ext["plugin_output"], ext["current_state"])
	}
	// Signed and served: the agent kept a verified copy.
	if _, err := os.Stat(filepath.Join(agentDir, "externals", host+".toml")); err != nil {
		t.Errorf("no last-known-good externals: %v", err)
	}
	// picket check runs the checks the server assigned, from the
	// last-known-good externals, as the agent does.
	if ck := run(t, nil, picketBin, "check", "--config", agentCfg, "registered"); ck.Code != 0 || !strings.Contains(ck.Stdout, "registered as e2e-agent on linux") {
		t.Errorf("picket check of an externals check: %v", ck)
	}
	hosts := run(t, nil, picketBin, "server", "hosts", "--config", serverCfg)
	if hosts.Code != 0 || !regexp.MustCompile(`(?m)^e2e-agent\s+linux\s.*SHA256:`).MatchString(hosts.Stdout) {
		t.Errorf("picket server hosts: %v", hosts)
	}
	attackRegistration(t, dir, httpPort, certFile, objects)

	// Healthy for three times the thresholds: nothing may go stale, not
	// even the failing check whose retry_interval (40s) exceeds the
	// threshold. Nagios logs every stale result it finds; none may be
	// the agent's.
	threshold := 2*10*time.Second + 5*time.Second + 3*time.Second
	if d := 3*threshold - time.Since(started); d > 0 {
		time.Sleep(d)
	}
	for _, svc := range []string{"", "load", "registered", "failing", "steady", "picket_poller"} {
		if f := st.wait(t, 5*time.Second, host, svc, nil); strings.Contains(f["plugin_output"], "STALE") || f["current_state"] == "1" {
			t.Errorf("%s went stale while the agent ran: %q", svc, f["plugin_output"])
		}
	}
	if f := st.wait(t, 5*time.Second, host, "failing", nil); f["current_state"] != "2" {
		t.Errorf("failing: state %s, want 2 (CRITICAL): %q", f["current_state"], f["plugin_output"])
	}
	log, _ := os.ReadFile(ng.LogFile)
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, "could not be found") && strings.Contains(l, host) {
			t.Errorf("Nagios dropped a result of the agent: %s", l)
		}
		if strings.Contains(l, "are stale") && strings.Contains(l, host) {
			t.Errorf("Nagios found a result of the running agent stale: %s", l)
		}
	}

	// Stopped, the agent's services turn stale, saying so, within the
	// derived threshold (plus Nagios' 1s sweep and 1s latency).
	agent.Stop()
	stopped := time.Now()
	for _, svc := range []string{"load", "registered"} {
		f := st.wait(t, threshold+20*time.Second, host, svc, func(f map[string]string) bool {
			return strings.Contains(f["plugin_output"], "STALE")
		})
		if f["current_state"] == "0" {
			t.Errorf("%s stale but OK: %v", svc, f)
		}
		if took := time.Since(stopped); took > threshold+10*time.Second {
			t.Errorf("%s: stale after %v, threshold %v", svc, took.Round(time.Second), threshold)
		}
	}
	// And the host turns DOWN, saying why: one alert for a dead agent.
	// Its threshold is the health interval's (2*10s + 3s slack).
	hostThreshold := 2*10*time.Second + 3*time.Second
	hs = st.wait(t, hostThreshold+20*time.Second, host, "", func(f map[string]string) bool { return f["current_state"] == "1" })
	if !strings.Contains(hs["plugin_output"], "no report from the picket agent") {
		t.Errorf("host DOWN without saying why: %q", hs["plugin_output"])
	}
	if t.Failed() {
		t.Logf("picket server log:\n%s\nagent log:\n%s", server.Log.String(), agent.Log.String())
	}
}

// nagiosStatus reads Nagios' status.dat.
type nagiosStatus struct{ path string }

var (
	statusBlock     = regexp.MustCompile(`(?s)servicestatus \{\n(.*?)\n\s*\}`)
	hostStatusBlock = regexp.MustCompile(`(?s)hoststatus \{\n(.*?)\n\s*\}`)
)

// wait polls until host/service has a block for which ok (nil: any) holds;
// service "" is the host's own status.
func (s *nagiosStatus) wait(tb testing.TB, timeout time.Duration, host, service string, ok func(map[string]string) bool) map[string]string {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var last map[string]string
	for {
		data, _ := os.ReadFile(s.path)
		blocks := statusBlock
		if service == "" {
			blocks = hostStatusBlock
		}
		for _, m := range blocks.FindAllStringSubmatch(string(data), -1) {
			f := map[string]string{}
			for _, l := range strings.Split(m[1], "\n") {
				k, v, _ := strings.Cut(strings.TrimSpace(l), "=")
				f[k] = v
			}
			if f["host_name"] != host || (service != "" && f["service_description"] != service) {
				continue
			}
			last = f
			if ok == nil || ok(f) {
				return f
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("status.dat: %s/%s not as expected within %v; last seen %v", host, service, timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
