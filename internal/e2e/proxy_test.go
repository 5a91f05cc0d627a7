package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Agents behind a proxy: registration and externals go through a real
// CONNECT proxy (Debian's tinyproxy, started here) when [externals] proxy
// says so, or when the environment's HTTPS_PROXY does; without either,
// or with proxy = "direct", they do not.
func TestAgentThroughProxy(t *testing.T) {
	needE2E(t)
	tinyproxy := peer(t, "tinyproxy")
	dir := t.TempDir()
	server := startHubHTTPS(t, dir)
	proxy := startTinyproxy(t, tinyproxy, filepath.Join(dir, "proxy"))

	// CONNECT lines tinyproxy logged for picket server's port.
	connects := func(host string) int {
		b, _ := os.ReadFile(proxy.logFile)
		return strings.Count(string(b), fmt.Sprintf("CONNECT %s:%d ", host, server.port))
	}

	// An agent told to use the proxy registers and pulls through it.
	a := startProxyAgent(t, server, filepath.Join(dir, "a"), "web01", "127.0.0.1", fmt.Sprintf(`proxy = "http://127.0.0.1:%d"`, proxy.port), nil)
	a.waitPulled(t)
	if n := connects("127.0.0.1"); n < 2 {
		t.Errorf("%d CONNECTs through the proxy for a registration and a pull\nproxy log:\n%s", n, readLog(proxy.logFile))
	}
	bound := run(t, nil, picketBin, "server", "hosts", "--config", server.config)
	if !strings.Contains(bound.Stdout, "web01") || !strings.Contains(bound.Stdout, "SHA256:") {
		t.Errorf("web01 is not bound: %v", bound)
	}
	a.Stop()

	// One without the setting and without the environment goes direct.
	before := connects("127.0.0.1")
	b := startProxyAgent(t, server, filepath.Join(dir, "b"), "web02", "127.0.0.1", "", nil)
	b.waitPulled(t)
	b.Stop()
	if n := connects("127.0.0.1"); n != before {
		t.Errorf("an agent without a proxy went through it (%d CONNECTs, were %d)", n, before)
	}

	// The environment's proxy: Go never proxies "localhost" or a loopback
	// address, so this agent names the server "127.1", which the resolver
	// (inet_aton) reads as 127.0.0.1 and Go does not take for an address.
	env := []string{fmt.Sprintf("HTTPS_PROXY=http://127.0.0.1:%d", proxy.port), "NO_PROXY="}
	c := startProxyAgent(t, server, filepath.Join(dir, "c"), "web03", "127.1", "", env)
	c.waitPulled(t)
	c.Stop()
	if n := connects("127.1"); n < 2 {
		t.Errorf("%d CONNECTs through HTTPS_PROXY\nproxy log:\n%s", n, readLog(proxy.logFile))
	}
	// proxy = "direct" wins over the environment: the agent looks the
	// name up itself, where the proxy would have connected. Go's own
	// resolver does not read "127.1" as an address and finds nothing; the
	// system's (cgo) does, and the agent pulls directly. Either way, not
	// through the proxy.
	before = connects("127.1")
	d := startProxyAgent(t, server, filepath.Join(dir, "d"), "web04", "127.1", `proxy = "direct"`, env)
	deadline := time.Now().Add(pollDeadline)
	for !strings.Contains(d.Log.String(), "lookup 127.1") && !d.pulled() {
		if time.Now().After(deadline) {
			t.Fatalf("%s neither pulled nor failed to look the server up; log:\n%s", d.Name, d.Log.String())
		}
		time.Sleep(pollEvery)
	}
	d.Stop()
	if n := connects("127.1"); n != before {
		t.Errorf("proxy = \"direct\" went through the environment's proxy (%d CONNECTs, were %d)", n, before)
	}
}

// hubHTTPS is a picket server with externals and registration over TLS.
type hubHTTPS struct {
	*daemon
	port            int
	config, ca, pub string
	token, stateDir string
}

func startHubHTTPS(t *testing.T, dir string) *hubHTTPS {
	t.Helper()
	h := &hubHTTPS{token: "proxy-fleet-token", stateDir: filepath.Join(dir, "state")}
	keyOut := run(t, nil, picketBin, "server", "keygen", "--key", filepath.Join(dir, "externals.key"))
	if keyOut.Code != 0 {
		t.Fatalf("keygen: %v", keyOut)
	}
	h.pub = strings.TrimSpace(keyOut.Stdout)
	certFile, keyFile := selfSignedCert(t, dir)
	h.ca = certFile
	writeFile(t, filepath.Join(dir, "register.tokens"), h.token+"\n", 0o600)
	writeFile(t, filepath.Join(dir, "base.toml"), "[[check]]\nservice = \"registered\"\ncommand = \"check_dummy 0 registered\"\n", 0o644)
	writeFile(t, filepath.Join(dir, "profiles.toml"), "default = \"base\"\n", 0o644)
	h.config = filepath.Join(dir, "server.toml")
	h.daemon = startDaemon(t, "picket server", picketBin, func(port int) []string {
		h.port = port
		writeFile(t, h.config, fmt.Sprintf(`state_dir = "%[1]s/state"

[http]
listen = "127.0.0.1:%[2]d"
tls_cert = %[3]q
tls_key = %[4]q

[externals]
dir = "%[1]s/externals"
signing_key = "%[1]s/externals.key"

[registration]
tokens_file = "%[1]s/register.tokens"
profiles = "%[1]s/profiles.toml"
`, dir, port, certFile, keyFile), 0o600)
		return []string{"server", "--config", h.config}
	})
	return h
}

type tinyproxyDaemon struct {
	*daemon
	port    int
	logFile string
}

// startTinyproxy runs tinyproxy in the foreground on 127.0.0.1 with a
// config of its own; the test stops it by pid.
func startTinyproxy(t *testing.T, bin, dir string) *tinyproxyDaemon {
	t.Helper()
	p := &tinyproxyDaemon{logFile: filepath.Join(dir, "tinyproxy.log")}
	cfg := filepath.Join(dir, "tinyproxy.conf")
	p.daemon = startDaemon(t, "tinyproxy", bin, func(port int) []string {
		p.port = port
		writeFile(t, cfg, fmt.Sprintf("Port %d\nListen 127.0.0.1\nTimeout 60\nLogLevel Connect\nLogFile %q\nPidFile %q\nMaxClients 20\nAllow 127.0.0.1\n",
			port, p.logFile, filepath.Join(dir, "tinyproxy.pid")), 0o644)
		return []string{"-d", "-c", cfg}
	})
	return p
}

// proxyAgent is `picket run` with externals and registration only.
type proxyAgent struct {
	*daemon
	state, host string
}

func startProxyAgent(t *testing.T, h *hubHTTPS, dir, host, serverName, proxyLine string, env []string) *proxyAgent {
	t.Helper()
	a := &proxyAgent{state: filepath.Join(dir, "state"), host: host}
	writeFile(t, filepath.Join(dir, "register.token"), h.token+"\n", 0o600)
	base := fmt.Sprintf("https://%s:%d", serverName, h.port)
	cfg := writeFile(t, filepath.Join(dir, "picket.toml"), fmt.Sprintf(`hostname = %[1]q
plugin_dirs = [%[2]q]
state_dir = %[3]q

[externals]
url = "%[4]s/externals/"
ca_file = %[5]q
%[6]s
%[7]s
interval = "10s"

[autoreg]
url = "%[4]s/v1/register"
token_file = "%[8]s/register.token"
`, host, pluginDir, a.state, base, h.ca, h.pub, proxyLine, dir), 0o600)
	a.daemon = startProcessEnv(t, "picket run "+host, env, picketBin, "run", "--config", cfg, "--log-level", "debug")
	return a
}

// pulled reports whether the agent has its signed externals in its cache.
func (a *proxyAgent) pulled() bool {
	_, err := os.Stat(filepath.Join(a.state, "externals", a.host+".toml"))
	return err == nil
}

// waitPulled waits until the agent has pulled.
func (a *proxyAgent) waitPulled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if a.pulled() {
			return
		}
		if time.Now().After(deadline) || a.Exited() {
			t.Fatalf("%s has no externals after a minute; log:\n%s", a.Name, a.Log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startProcessEnv is startProcess with the proxy variables of the test's
// environment replaced by env: the test's own must not decide where the
// agents go.
func startProcessEnv(t *testing.T, name string, env []string, bin string, args ...string) *daemon {
	t.Helper()
	d := &daemon{Name: name, Log: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY", "REQUEST_METHOD":
			continue
		}
		d.cmd.Env = append(d.cmd.Env, kv)
	}
	d.cmd.Env = append(d.cmd.Env, env...)
	d.cmd.Stdout, d.cmd.Stderr = d.Log, d.Log
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.Stop)
	return d
}

func readLog(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
