package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/icingatest"
)

// icingaObjects defines the agent's host, the services its test checks and
// its own services in Icinga, from the harness's passive templates.
func icingaObjects(host string, services ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "object Host %q { import %q }\n", host, icingatest.HostTemplate)
	for _, s := range services {
		fmt.Fprintf(&b, "object Service %q { host_name = %q; import %q }\n", s, host, icingatest.ServiceTemplate)
	}
	return b.String()
}

// An agent sends to the real Icinga 2 through its API: each result is
// stored with its real execution start and its output, perfdata and check
// source; through an outage of Icinga, results wait in the spool and are
// replayed in order (Icinga drops none as older than one it has); a result
// for an object Icinga does not know is refused for good and reported on
// picket_spooler, never retried.
func TestAgentIntoIcinga(t *testing.T) {
	needE2E(t)
	in := icingatest.Must(t, icingatest.Options{Objects: icingaObjects("ici01", "counter",
		"picket_poller", "picket_spooler", "picket_externals")})
	e := newAgentEnv(t)
	pw := writeFile(t, filepath.Join(e.Dir, "icinga.secret"), in.Password+"\n", 0o600)
	e.Targets = fmt.Sprintf(`[[target]]
kind = "icinga2"
url = %q
user = %q
password_file = %q
ca_file = %q
server_name = %q
`, in.URL, in.User, pw, in.CAFile, in.ServerName)
	writeFile(t, filepath.Join(e.DropIns, "counter"), counterPlugin+"echo '| runs=1'\n", 0o755)
	e.Host = "ici01"
	e.write(t, `[[check]]
service = "counter"
command = "counter `+filepath.Join(e.Dir, "count")+`"

[[check]]
service = "not_in_icinga"
command = "check_dummy 0 nobody knows me"
`)
	agent := e.start(t)
	defer agent.Stop()
	ctx := context.Background()

	// A result as Icinga stores it: the real run's times, output,
	// perfdata, and this agent as its source.
	o := waitIcinga(t, in, "counter", func(o icingatest.Object) bool { return o.Result != nil })
	r := o.Result
	if !strings.HasPrefix(r.Output, "RUN ") || r.CheckSource != "ici01" || time.Since(r.ExecutionStart) > time.Minute ||
		r.ExecutionEnd.Before(r.ExecutionStart) || len(r.PerfData) != 1 || r.TTL <= 0 {
		t.Errorf("stored result %+v", r)
	}

	// An outage: Icinga stops, the agent keeps checking, and replays in
	// order once Icinga is back.
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := in.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	o = waitIcinga(t, in, "counter", func(o icingatest.Object) bool {
		return o.Result != nil && o.Result.ExecutionStart.After(stopped)
	})
	if skipped, err := in.Skipped(ctx); err != nil || skipped["ici01!counter"] != 0 {
		t.Errorf("Icinga dropped %v results as older than one it had (%v): the replay was out of order", skipped, err)
	}

	// The unknown service was refused, said so once, and is not retried
	// in a loop.
	waitLog(t, agent, "target refused a result for good", "not_in_icinga")
	t.Cleanup(func() {
		if t.Failed() {
			dl, _ := in.DebugLog()
			var lines []string
			for _, l := range strings.Split(dl, "\n") {
				if strings.Contains(l, "picket_spooler") {
					lines = append(lines, l)
				}
			}
			t.Logf("Icinga's debug log on picket_spooler:\n%s", strings.Join(lines, "\n"))
		}
	})
	sp := waitIcinga(t, in, "picket_spooler", func(o icingatest.Object) bool {
		return o.Result != nil && strings.Contains(o.Result.Output, "refused")
	})
	if !strings.Contains(sp.Result.Output, "unknown object") {
		t.Log(agent.Log.String())
		t.Errorf("picket_spooler: %q", sp.Result.Output)
	}
}

// Wrong credentials and an untrusted certificate are told apart, with what
// to do about each.
func TestAgentIntoIcingaRefused(t *testing.T) {
	needE2E(t)
	in := icingatest.Must(t, icingatest.Options{Objects: icingaObjects("ici02", "counter")})
	for _, tt := range []struct {
		name, password, caFile, want string
	}{
		{"wrong password", "not-the-password", in.CAFile, "unauthorized (check user, password or client certificate)"},
		{"untrusted certificate", in.Password, "", "server certificate not trusted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newAgentEnv(t)
			pw := writeFile(t, filepath.Join(e.Dir, "icinga.secret"), tt.password+"\n", 0o600)
			ca := ""
			if tt.caFile != "" {
				ca = fmt.Sprintf("ca_file = %q\n", tt.caFile)
			}
			e.Targets = fmt.Sprintf("[[target]]\nkind = \"icinga2\"\nurl = %q\nuser = %q\npassword_file = %q\n%sserver_name = %q\n",
				in.URL, in.User, pw, ca, in.ServerName)
			e.Host = "ici02"
			e.write(t, "[[check]]\nservice = \"counter\"\ncommand = \"check_dummy 0 ok\"\n")
			agent := e.start(t)
			defer agent.Stop()
			waitLog(t, agent, "spooler: target failed", tt.want)
		})
	}
}

// waitIcinga polls Icinga for ici01's service until ok holds.
func waitIcinga(t *testing.T, in *icingatest.Instance, svc string, ok func(icingatest.Object) bool) icingatest.Object {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for {
		o, err := in.Service(context.Background(), "ici01", svc)
		if err == nil && ok(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("Icinga's %s not as expected within %v: %+v, %v", svc, pollDeadline, o, err)
		}
		time.Sleep(pollEvery)
	}
}

// The central loop with Icinga 2 instead of Nagios: an agent with no checks
// registers at picket server, which creates its host and services in the
// real icinga2 through the API (passive, with freshness); the agent sends
// straight to Icinga's API and its results land on those objects.
func TestRegisterIntoIcinga(t *testing.T) {
	needE2E(t)
	in := icingatest.Must(t, icingatest.Options{})
	dir := t.TempDir()
	keyOut := run(t, nil, picketBin, "server", "keygen", "--key", filepath.Join(dir, "externals.key"))
	if keyOut.Code != 0 {
		t.Fatalf("keygen: %v", keyOut)
	}
	pw := writeFile(t, filepath.Join(dir, "icinga.secret"), in.Password+"\n", 0o600)
	writeFile(t, filepath.Join(dir, "register.tokens"), "icinga-token\n", 0o600)
	writeFile(t, filepath.Join(dir, "profiles", "base.toml"), "[defaults]\ninterval = \"5s\"\n\n[[check]]\nservice = \"hello\"\ncommand = \"check_dummy 1 'hello from {{.Host}}'\"\n", 0o644)
	writeFile(t, filepath.Join(dir, "profiles.toml"), "templates_dir = \"profiles\"\ndefault = \"base\"\n", 0o644)
	httpPort := freePort(t)
	serverCfg := writeFile(t, filepath.Join(dir, "server.toml"), fmt.Sprintf(`state_dir = "%[1]s/state"
[http]
listen = "127.0.0.1:%[2]d"
[externals]
dir = "%[1]s/externals"
signing_key = "%[1]s/externals.key"
[registration]
tokens_file = "%[1]s/register.tokens"
profiles = "%[1]s/profiles.toml"
[icinga2]
url = %[3]q
user = %[4]q
password_file = %[5]q
ca_file = %[6]q
server_name = %[7]q
host_templates = [%[8]q]
service_templates = [%[9]q]
health_interval = "10s"
`, dir, httpPort, in.URL, in.User, pw, in.CAFile, in.ServerName, icingatest.HostTemplate, icingatest.ServiceTemplate), 0o600)
	server := startProcess(t, "picket server", picketBin, "server", "--config", serverCfg)
	defer server.Stop()
	waitLog(t, server, "HTTP listening")

	agentDir := filepath.Join(dir, "agent")
	writeFile(t, filepath.Join(agentDir, "register.token"), "icinga-token\n", 0o600)
	agentCfg := writeFile(t, filepath.Join(agentDir, "picket.toml"), fmt.Sprintf(`hostname = "icireg01"
plugin_dirs = [%[1]q]
state_dir = %[2]q
[[target]]
kind = "icinga2"
url = %[3]q
user = %[4]q
password_file = %[5]q
ca_file = %[6]q
server_name = %[7]q
[externals]
url = "http://127.0.0.1:%[8]d/externals/"
%[9]s
interval = "10s"
[autoreg]
url = "http://127.0.0.1:%[8]d/v1/register"
token_file = "%[2]s/register.token"
[health]
interval = "10s"
`, pluginDir, agentDir, in.URL, in.User, pw, in.CAFile, in.ServerName, httpPort, strings.TrimSpace(keyOut.Stdout)), 0o600)
	agent := startProcess(t, "picket run", picketBin, "run", "--config", agentCfg, "--log-level", "debug")
	defer agent.Stop()

	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		o, err := in.Service(ctx, "icireg01", "hello")
		if err == nil && o.Result != nil {
			if o.State != 1 || o.Result.Output != "WARNING: hello from icireg01" || !slices.Contains(o.Templates, icingatest.ServiceTemplate) {
				t.Errorf("icireg01!hello: %+v %+v", o, o.Result)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no result on icireg01!hello in Icinga within 60s (%v)\nserver:\n%s\nagent:\n%s", err, server.Log.String(), agent.Log.String())
		}
		time.Sleep(pollEvery)
	}
	for _, svc := range []string{"picket_poller", "picket_spooler"} {
		if _, err := in.Service(ctx, "icireg01", svc); err != nil {
			t.Errorf("the agent's own service %s was not created: %v", svc, err)
		}
	}
}
