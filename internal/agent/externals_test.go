package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/signing"
	"github.com/picket-monitoring/picket/nsca"
)

// central is a real picket server's HTTP side in-process: the externals
// handler and the registration endpoint, over TLS, with a profile that
// renders every new host's file.
type central struct {
	*httptest.Server
	dir       string // externals the server serves
	key       ed25519.PrivateKey
	pub       ed25519.PublicKey
	caFile    string // the server's certificate, for the agent's ca_file
	tokenFile string // the agent's copy of the registration token
	ids       *autoreg.Identities
	conns     atomic.Int64
	// ext serves the externals; forgetValid replaces it.
	ext atomic.Pointer[externals.Handler]

	mu sync.Mutex
	// auths is, for each externals request, who signed it and whether
	// the signature verified with the key bound to that host.
	auths []string
}

// checkAuth records how each externals request was signed.
func (c *central) checkAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := "unsigned"
		if a, err := signing.ParseRequestAuth(r, nil); err == nil {
			res = a.Host + ": not bound"
			if b, ok := c.ids.Get(a.Host); ok {
				res = a.Host + ": verified"
				if a.Verify(b.PublicKey()) != nil {
					res = a.Host + ": bad signature"
				}
			}
		}
		c.mu.Lock()
		c.auths = append(c.auths, res)
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (c *central) lastAuth() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.auths) == 0 {
		return ""
	}
	return c.auths[len(c.auths)-1]
}

// baseProfile is what a registered host gets: one check of a drop-in
// plugin.
const baseProfile = `# rendered for {{.Host}}
[[check]]
service = "ext_ok"
command = "ext_ok"
interval = "1s"
`

func startCentral(t *testing.T) *central {
	t.Helper()
	root := t.TempDir()
	c := &central{dir: filepath.Join(root, "externals")}
	var err error
	if c.pub, c.key, err = signing.GenerateKey(); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("base.toml", baseProfile, 0o644)
	profiles, err := autoreg.LoadProfiles(write("profiles.toml", "default = \"base\"\n", 0o644))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := autoreg.LoadTokens(write("tokens", "# agents\ns3cret-token\n", 0o600), "")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := autoreg.OpenIdentities(context.Background(), filepath.Join(root, "identities.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.ids = ids
	c.tokenFile = write("agent.token", "s3cret-token\n", 0o600)
	reg, err := autoreg.OpenRegistry(filepath.Join(root, "registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	assigner := &autoreg.Assigner{
		Profiles:     profiles,
		Registry:     reg,
		ExternalsDir: c.dir,
		Validate: func(host string, data []byte) error {
			_, err := externals.Parse(host+".toml", data, host)
			return err
		},
		Write: func(host string, data []byte) error {
			return externals.WriteFile(c.dir, host, data, &externals.Keys{Current: c.key})
		},
	}
	mux := http.NewServeMux()
	// No Key: the handler serves the signature files written beside each
	// file, so a test can publish one signed with the wrong key.
	c.ext.Store(&externals.Handler{Dir: c.dir})
	serveExt := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.ext.Load().ServeHTTP(w, r) })
	mux.Handle("/externals/", http.StripPrefix("/externals/", c.checkAuth(serveExt)))
	mux.Handle("/v1/register", autoreg.NewHandler(autoreg.HandlerOptions{Assigner: assigner, Rate: rate.Inf, GlobalRate: rate.Inf,
		Guard: &autoreg.Guard{Tokens: tokens, Identities: ids, Replay: &signing.ReplayCache{}}}))
	c.Server = httptest.NewUnstartedServer(mux)
	// Handshakes a test makes fail on purpose are not news.
	c.Config.ErrorLog = log.New(io.Discard, "", 0)
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			c.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			c.conns.Add(-1)
		}
	}
	c.StartTLS()
	t.Cleanup(c.Close)
	c.caFile = write("ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate().Raw})), 0o644)
	return c
}

// forgetValid makes the server forget the valid versions it served, as a
// restart does: it serves an invalid file as it is.
func (c *central) forgetValid() { c.ext.Store(&externals.Handler{Dir: c.dir}) }

// publish puts data on the server as host's externals, signed with key.
func (c *central) publish(t *testing.T, host, data string, key ed25519.PrivateKey) {
	t.Helper()
	if err := externals.WriteFile(c.dir, host, []byte(data), &externals.Keys{Current: key}); err != nil {
		t.Fatal(err)
	}
}

// version is how the agent names the server's current file for host.
func (c *central) version(t *testing.T, host string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, host+".toml"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	s := externals.Snapshot{Meta: externals.Meta{SHA256: hex.EncodeToString(sum[:])}}
	return s.Version()
}

// externalsSection is the agent's [externals] for c; extra lines go into
// the table.
func (c *central) externalsSection(extra ...string) string {
	return "\n[externals]\nurl = \"" + c.URL + "/externals/\"\nca_file = \"" + c.caFile + "\"\ninterval = \"10s\"\n" +
		strings.Join(extra, "\n") + "\n"
}

func (c *central) autoregSection() string {
	return "\n[autoreg]\nurl = \"" + c.URL + "/v1/register\"\ntoken_file = \"" + c.tokenFile + "\"\nmetadata = [\"linux\"]\n"
}

// agentFile writes an agent config in dir, its state and spool inside
// dir, and returns its path. top holds top-level keys, sections the rest.
func agentFile(t *testing.T, dir, hostname, top string, sections ...string) string {
	t.Helper()
	plugins := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	src := "hostname = \"" + hostname + "\"\n" +
		"plugin_dirs = [\"" + plugins + "\"]\n" +
		"state_dir = \"" + filepath.Join(dir, "state") + "\"\n" +
		"spool_dir = \"" + filepath.Join(dir, "spool") + "\"\n" + top + "\n" +
		strings.Join(sections, "\n")
	path := filepath.Join(dir, "picket.toml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newTestManager loads the config agentFile writes and builds its manager.
func newTestManager(t *testing.T, hostname, top string, sections ...string) (*extManager, *config.Config) {
	t.Helper()
	cfg, err := config.Load(agentFile(t, t.TempDir(), hostname, top, sections...))
	if err != nil {
		t.Fatal(err)
	}
	m, err := newExtManager(cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if m == nil {
		t.Fatal("no manager for a config with an externals url")
	}
	return m, cfg
}

// managerRun is an extManager's run in a goroutine.
type managerRun struct {
	cancel  context.CancelFunc
	done    chan struct{} // closed when run returned
	renamed string        // what run returned, once done
}

// runManager runs m until stop; the test's end stops it too.
func runManager(t *testing.T, m *extManager) *managerRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &managerRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.renamed = m.run(ctx)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the run and returns what it returned.
func (r *managerRun) stop(t *testing.T) string {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	return r.renamed
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cacheFiles reads every file of the agent's externals cache.
func cacheFiles(t *testing.T, cfg *config.Config) map[string]string {
	t.Helper()
	dir := filepath.Join(cfg.StateDir, "externals")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(data)
	}
	return out
}

// A first start on a host the server does not know: the pull says 404,
// the agent registers, the profile renders its file, and the next pull
// brings the profile's checks under the assigned name.
func TestExtManagerRegistersAndPulls(t *testing.T) {
	c := startCentral(t)
	m, cfg := newTestManager(t, "web01", "", c.externalsSection(), c.autoregSection())
	if !m.unknown() {
		t.Error("a never registered agent without externals is not unknown")
	}
	run := runManager(t, m)
	waitFor(t, "the profile's checks", func() bool { return len(m.checks()) > 0 })
	if renamed := run.stop(t); renamed != "" {
		t.Errorf("run returned %q for a host the server kept the name of", renamed)
	}

	got := m.checks()
	if len(got) != 1 || got[0].Host != "web01" || got[0].Service != "ext_ok" || got[0].Command != "ext_ok" {
		t.Fatalf("checks = %+v, want the profile's ext_ok on web01", got)
	}
	a, err := autoreg.LoadAssignment(filepath.Join(cfg.StateDir, registrationFile))
	if err != nil || a.Host != "web01" || a.Profile != "base" {
		t.Errorf("registration saved: %+v, %v", a, err)
	}
	if m.unknown() {
		t.Error("still unknown after registering")
	}
	r := m.report(time.Now())
	want := "EXTERNALS OK - web01: externals " + c.version(t, "web01") + ", 1 checks, confirmed "
	if r.State != check.OK || r.ExitCode != 0 || !strings.HasPrefix(r.Output, want) {
		t.Errorf("report = %v %q, want OK %q...", r.State, r.Output, want)
	}
	if r.Host != "web01" || r.Service != "picket_externals" {
		t.Errorf("reported as %s/%s", r.Host, r.Service)
	}
	// Pulling and registering leave no connection to the server behind:
	// a stopped manager holds no socket and no transport goroutine.
	waitFor(t, "the agent's connections to the server to close", func() bool { return c.conns.Load() == 0 })
}

// The server names hosts by their lower-cased short name; an agent
// configured under another name learns the one Nagios knows.
func TestExtManagerTakesTheAssignedName(t *testing.T) {
	c := startCentral(t)
	m, cfg := newTestManager(t, "Web-1.Example.com", "hostname_lowercase = false", c.externalsSection(), c.autoregSection())
	run := runManager(t, m)
	select {
	case <-run.done:
		if run.renamed != "web-1" {
			t.Errorf("run returned %q, want web-1", run.renamed)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return the assigned name")
	}
	if a, err := autoreg.LoadAssignment(filepath.Join(cfg.StateDir, registrationFile)); err != nil || a.Host != "web-1" {
		t.Errorf("registration saved: %+v, %v", a, err)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "web-1.toml")); err != nil {
		t.Errorf("the server rendered no file for the assigned name: %v", err)
	}
	if got := assigned(cfg.StateDir); got != "web-1" {
		t.Errorf("assigned(state_dir) = %q: a restart would not run under the server's name", got)
	}
}

// A download that fails a check changes nothing: the checks, the cache on
// disk, and the version running stay; the agent's service says why.
func TestExtManagerKeepsLastKnownGoodOnRejection(t *testing.T) {
	const good = "[[check]]\nservice = \"disk\"\ncommand = \"check_disk -w 10%\"\ninterval = \"1m\"\n"
	_, otherKey, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		data   string
		signed func(c *central) ed25519.PrivateKey
		reason string
	}{
		{"invalid TOML", good + "intrval = \"5m\"\n", func(c *central) ed25519.PrivateKey { return c.key }, "unknown key"},
		{"signed with another key", good + "\n[[check]]\nservice = \"rogue\"\ncommand = \"check_rogue\"\n",
			func(*central) ed25519.PrivateKey { return otherKey }, "which is not among the trusted public keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startCentral(t)
			c.publish(t, "web01", good, c.key)
			m, cfg := newTestManager(t, "web01", "", c.externalsSection("public_key = \""+signing.FormatPublicKey(c.pub)+"\""))
			if needReg := m.fetchAll(context.Background()); needReg {
				t.Fatal("fetchAll wants to register a host the server has externals for")
			}
			version := c.version(t, "web01")
			before, cache := m.checks(), cacheFiles(t, cfg)
			if len(before) != 1 || before[0].Service != "disk" {
				t.Fatalf("checks = %+v", before)
			}

			c.publish(t, "web01", tt.data, tt.signed(c))
			// picket server would serve the last valid version; one that
			// restarted since, or any other server, serves what it has.
			c.forgetValid()
			if needReg := m.fetchAll(context.Background()); needReg {
				t.Error("a rejected file makes the agent register")
			}
			if got := m.checks(); !slices.Equal(got, before) {
				t.Errorf("checks after a rejected download = %+v, want the last-known-good %+v", got, before)
			}
			if got := cacheFiles(t, cfg); !mapsEqual(got, cache) {
				t.Errorf("cache changed by a rejected download:\nbefore %q\nafter  %q", cache, got)
			}
			r := m.report(time.Now())
			if r.State != check.Critical || r.ExitCode != 2 ||
				!strings.HasPrefix(r.Output, "EXTERNALS CRITICAL - web01: externals rejected: ") ||
				!strings.Contains(r.Output, tt.reason) || !strings.Contains(r.Output, "keeping "+version) {
				t.Errorf("report = %v %q, want CRITICAL, rejected, %q, keeping %s", r.State, r.Output, tt.reason, version)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A server that is gone: one failed pull is nothing to report, two in a
// row are a WARNING, and the last-known-good keeps running throughout.
func TestExtManagerServerUnreachable(t *testing.T) {
	c := startCentral(t)
	c.publish(t, "web01", baseProfile, c.key)
	// A short timeout: a closed port is retried with backoff until it.
	m, _ := newTestManager(t, "web01", "", c.externalsSection(`timeout = "1s"`))
	m.fetchAll(context.Background())
	before := m.checks()
	if len(before) != 1 {
		t.Fatalf("checks = %+v", before)
	}
	version := c.version(t, "web01")
	c.Close()

	for i, want := range []check.State{check.OK, check.Warning} {
		if needReg := m.fetchAll(context.Background()); needReg {
			t.Errorf("pull %d: an unreachable server makes the agent register", i+1)
		}
		if got := m.checks(); !slices.Equal(got, before) {
			t.Errorf("pull %d: checks = %+v, want the last-known-good", i+1, got)
		}
		r := m.report(time.Now())
		if r.State != want {
			t.Errorf("after %d failed pulls: %v %q, want %v", i+1, r.State, r.Output, want)
		}
		if want == check.Warning && (!strings.Contains(r.Output, "unreachable") || !strings.Contains(r.Output, "keeping "+version)) {
			t.Errorf("after %d failed pulls: %q, want unreachable and keeping %s", i+1, r.Output, version)
		}
	}
}

// Externals the server has not confirmed for max_stale stop running
// (auto-config mode), and the agent registers again to get new ones: both
// when they go stale while it runs and when it starts with stale ones.
func TestExtManagerAutoConfigMode(t *testing.T) {
	c := startCentral(t)
	c.publish(t, "web01", baseProfile, c.key)
	dir := t.TempDir()
	cfg, err := config.Load(agentFile(t, dir, "web01", "",
		c.externalsSection(`max_stale = "1m"`, `timeout = "1s"`), c.autoregSection()))
	if err != nil {
		t.Fatal(err)
	}
	m, err := newExtManager(cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Bound, as after a registration: binding is no reason to register.
	m.reg.key = signing.Fingerprint(m.signer.PublicKey())
	if needReg := m.fetchAll(context.Background()); needReg || len(m.checks()) != 1 {
		t.Fatalf("first pull: needReg %v, checks %+v", needReg, m.checks())
	}
	c.Close()
	later := func() time.Time { return time.Now().Add(2 * time.Minute) }
	m.now = later

	if needReg := m.fetchAll(context.Background()); !needReg {
		t.Error("externals went stale and fetchAll does not ask to register")
	}
	if got := m.checks(); len(got) != 0 {
		t.Errorf("stale externals still run: %+v", got)
	}
	r := m.report(later())
	if r.State != check.Critical || !strings.Contains(r.Output, "auto-config mode") {
		t.Errorf("report = %v %q, want CRITICAL auto-config mode", r.State, r.Output)
	}
	// Once is enough: the agent registers on entering auto-config mode,
	// not at every pull while the server stays away.
	if needReg := m.fetchAll(context.Background()); needReg {
		t.Error("fetchAll asks to register again while still stale")
	}

	// A restart with stale externals on disk is auto-config mode from
	// the start.
	m2, err := newExtManager(cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m2.now = later
	if got := m2.checks(); len(got) != 0 {
		t.Errorf("stale last-known-good runs after a restart: %+v", got)
	}
	if needReg := m2.fetchAll(context.Background()); !needReg {
		t.Error("restarted with stale externals and the server away: fetchAll does not ask to register")
	}
	if r := m2.report(later()); r.State != check.Critical || !strings.Contains(r.Output, "auto-config mode") {
		t.Errorf("report after a restart = %v %q", r.State, r.Output)
	}
}

// A host the server does not know, and no way to register: CRITICAL, and
// nothing to run.
func TestExtManagerNotFoundWithoutAutoreg(t *testing.T) {
	c := startCentral(t)
	m, _ := newTestManager(t, "web01", "", c.externalsSection())
	if needReg := m.fetchAll(context.Background()); !needReg {
		t.Error("a 404 for the agent's own host does not ask to register")
	}
	r := m.report(time.Now())
	if r.State != check.Critical || !strings.Contains(r.Output, "no url to register with") {
		t.Errorf("report = %v %q, want CRITICAL no url to register with", r.State, r.Output)
	}
	if got := m.checks(); len(got) != 0 {
		t.Errorf("checks = %+v", got)
	}
	// Without [autoreg] run keeps pulling on schedule; it does not end.
	run := runManager(t, m)
	select {
	case <-run.done:
		t.Errorf("run returned %q without [autoreg]", run.renamed)
	case <-time.After(200 * time.Millisecond):
	}
	run.stop(t)
}

// Multi-host mode: a monitored host's checks run under its name, with its
// file's address and macros; its 404 concerns it alone.
func TestExtManagerMonitoredHosts(t *testing.T) {
	c := startCentral(t)
	c.publish(t, "web01", baseProfile, c.key)
	c.publish(t, "db1", `host_address = "10.0.0.5"
[macros]
DB_PASS = "s3cret"

[[check]]
service = "db_conn"
command = "check_pgsql -H $HOSTADDRESS$ -p $DB_PASS$"
interval = "1m"
`, c.key)
	m, _ := newTestManager(t, "web01", "", c.externalsSection(`monitored_hosts = ["db1"]`))
	if needReg := m.fetchAll(context.Background()); needReg {
		t.Error("fetchAll wants to register")
	}
	got := m.checks()
	byHost := map[string]check.Check{}
	for _, ch := range got {
		byHost[ch.Host] = ch
	}
	if len(got) != 2 || byHost["web01"].Service != "ext_ok" {
		t.Fatalf("checks = %+v, want web01/ext_ok and db1/db_conn", got)
	}
	db := byHost["db1"]
	if db.Service != "db_conn" || db.HostAddress != "10.0.0.5" || db.Macros != check.NewMacroSet(map[string]string{"DB_PASS": "s3cret"}) {
		t.Errorf("db1's check = %+v, want db_conn at 10.0.0.5 with DB_PASS", db)
	}
	r := m.report(time.Now())
	if r.State != check.OK || !strings.Contains(r.Output, "2 externals checks for 2 hosts; no identity key") ||
		!strings.Contains(r.LongOutput, "db1: externals "+c.version(t, "db1")) {
		t.Errorf("report = %v %q / %q", r.State, r.Output, r.LongOutput)
	}

	if err := os.Remove(filepath.Join(c.dir, "db1.toml")); err != nil {
		t.Fatal(err)
	}
	if needReg := m.fetchAll(context.Background()); needReg {
		t.Error("a monitored host's 404 makes the agent register")
	}
	r = m.report(time.Now())
	if want := "EXTERNALS CRITICAL - db1: the server has no externals for this monitored host (404)"; r.State != check.Critical || r.Output != want {
		t.Errorf("report = %v %q, want %q", r.State, r.Output, want)
	}
	if after := m.checks(); !slices.Equal(after, got) {
		t.Errorf("checks after db1's 404 = %+v, want the last-known-good %+v", after, got)
	}
}

func TestMergeChecksLocalWins(t *testing.T) {
	local := []check.Check{{Host: "web01", Service: "disk", Command: "check_disk -w 5%"}}
	ext := []check.Check{
		{Host: "web01", Service: "disk", Command: "check_disk -w 10%"},
		{Host: "web01", Service: "load", Command: "check_load"},
		{Host: "db1", Service: "disk", Command: "check_disk"},
	}
	got := mergeChecks(local, ext, slog.New(slog.DiscardHandler))
	want := []check.Check{local[0], ext[1], ext[2]}
	if !slices.Equal(got, want) {
		t.Errorf("merged = %+v\nwant %+v", got, want)
	}
}

const extOKPlugin = "#!/bin/sh\necho \"OK ext $1\"\n"

// The whole loop in-process: an agent with no checks registers under the
// name the server gives, pulls the profile's checks and sends their
// results and its externals health under that name; an edit on the server
// runs after a reload, without a restart.
func TestRunRegistersPullsAndReloads(t *testing.T) {
	rcv := startReceiver(t, "127.0.0.1:0")
	c := startCentral(t)
	dir := t.TempDir()
	cfgPath := agentFile(t, dir, "web01.example.test", "",
		"\n[[target]]\naddress = \""+rcv.addr+"\"\nencryption = \"none\"\n",
		c.externalsSection(), c.autoregSection())
	for _, name := range []string{"ext_ok", "ext_two"} {
		if err := os.WriteFile(filepath.Join(dir, "plugins", name), []byte(extOKPlugin), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	reload := make(chan struct{}, 1)
	stop := runAgent(t, Options{ConfigPath: cfgPath, Reload: reload, StatsEvery: 200 * time.Millisecond})
	defer stop()

	seen := func(host, service, prefix string) func() bool {
		return func() bool {
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			return slices.ContainsFunc(rcv.got, func(p nsca.Packet) bool {
				return p.Host == host && p.Service == service && strings.HasPrefix(p.Output, prefix)
			})
		}
	}
	waitFor(t, "web01/ext_ok results", seen("web01", "ext_ok", "OK ext"))
	waitFor(t, "web01/picket_externals OK", seen("web01", "picket_externals", "EXTERNALS OK - web01: externals "+c.version(t, "web01")))

	c.publish(t, "web01", baseProfile+"\n[[check]]\nservice = \"ext_two\"\ncommand = \"ext_two two\"\ninterval = \"1s\"\n", c.key)
	reload <- struct{}{}
	waitFor(t, "web01/ext_two results after the reload", seen("web01", "ext_two", "OK ext two"))
	waitFor(t, "picket_externals on the new version", seen("web01", "picket_externals", "EXTERNALS OK - web01: externals "+c.version(t, "web01")+", 2 checks"))
}

// The externals server's clock, from its answers' Date header, is shown on
// picket_externals, which warns past [health] clock_skew_warning.
func TestExtManagerReportsServerClock(t *testing.T) {
	c := startCentral(t)
	c.publish(t, "web01", baseProfile, c.key)
	m, _ := newTestManager(t, "web01", "", c.externalsSection(""))
	m.fetchAll(context.Background())
	r := m.report(time.Now())
	if r.State != check.OK || !strings.Contains(r.LongOutput, "the server's clock in step with this host's") {
		t.Fatalf("in step: %v %q\n%s", r.State, r.Output, r.LongOutput)
	}
	m.mu.Lock()
	m.hosts[0].clock = -3 * time.Minute
	m.mu.Unlock()
	r = m.report(time.Now())
	if r.State != check.Warning || !strings.Contains(r.Output, "the externals server's clock is 3m behind this host's") {
		t.Errorf("3m behind: %v %q", r.State, r.Output)
	}
}
