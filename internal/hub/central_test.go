package hub

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin wherever the tests run

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/internal/signing"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// testNagios is the [nagios] part the builder reads.
func testNagios() *NagiosConfig {
	return &NagiosConfig{
		FreshnessSlack: tomlfile.Duration{Duration: time.Minute},
		HealthInterval: tomlfile.Duration{Duration: 7 * time.Minute},
	}
}

func openRegistry(t *testing.T, entries ...autoreg.Entry) *autoreg.Registry {
	t.Helper()
	reg, err := autoreg.OpenRegistry(filepath.Join(t.TempDir(), "registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := reg.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

const web01Externals = `host_address = "10.0.0.1"

[[check]]
service = "disk"
command = "check_disk -w 10% -c 5% -p /"
interval = "1m"
timeout = "10s"

[[check]]
service = "backup"
command = "check_file_age -f /var/backups/last"
cron = "CRON_TZ=UTC 0 6 * * *"
timeout = "2m"

[[check]]
service = "ping"
host = "router1"
command = "check_ping -H $HOSTADDRESS$ -w 100,10% -c 200,20%"
interval = "2m"

[[check]]
service = "disabled"
command = "check_nothing"
enabled = false
`

const db01Externals = `host_check = "check-host-alive"

[[check]]
service = "mysql"
command = "check_mysql"
`

const invalidExternals = "[[check]]\nservice = \"x\"\n# no command\n"

func svc(name string, d time.Duration) nagios.ServiceObject {
	return nagios.ServiceObject{Name: name, Freshness: d}
}

func TestObjectBuilderBuild(t *testing.T) {
	dir := t.TempDir()
	web := writeFile(t, dir, "web01.toml", web01Externals, 0o644)
	db := writeFile(t, dir, "db01.toml", db01Externals, 0o644)
	// Not <valid host>.toml, or not a file: never parsed (each would fail).
	for _, name := range []string{"notes.txt", "web01.toml.sig", ".web01.toml.tmp-123", "bad..name.toml",
		"-dash.toml", "nul.toml", "trailing..toml", "UPPER.TOML"} {
		writeFile(t, dir, name, "not [ toml", 0o644)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.toml"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A symlink leading out of the folder is refused, as the handler
	// refuses to serve it; a dangling one is no file at all.
	outside := writeFile(t, t.TempDir(), "x.toml", db01Externals, 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "escape.toml")); err != nil {
		t.Skipf("symlinks: %v", err)
	}
	if err := os.Symlink("nowhere.toml", filepath.Join(dir, "dangling.toml")); err != nil {
		t.Fatal(err)
	}

	reg := openRegistry(t,
		autoreg.Entry{Host: "web01", Facts: autoreg.Request{
			Addresses:         []string{"192.0.2.9"}, // host_address wins
			HostResultSeconds: 300,
			Services: []autoreg.Service{
				{Service: "picket_poller"}, // no interval: [nagios] health_interval
				{Service: "disk", IntervalSeconds: 30},
				{Service: "local_cron", Cron: "CRON_TZ=UTC 0 * * * *", TimeoutSeconds: 5},
				{Host: "router1", Service: "ping", IntervalSeconds: 10},
				{Host: "router1", Service: "snmp", IntervalSeconds: 300, TimeoutSeconds: 30},
			},
		}},
		// Its profile checks the host actively: the agent's host
		// results are taken, but no freshness.
		autoreg.Entry{Host: "db01", Facts: autoreg.Request{Addresses: []string{"192.0.2.5", "fe80::1"}, HostResultSeconds: 60}},
		// Registered, but its externals file is gone: still a host.
		autoreg.Entry{Host: "app01", Facts: autoreg.Request{
			Services: []autoreg.Service{{Service: "picket_externals", IntervalSeconds: 120}},
		}},
	)
	b := &objectBuilder{dir: dir, registry: reg, nagios: testNagios(), logger: slog.New(slog.DiscardHandler)}
	hosts, shas, err := b.build(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// Thresholds are 2*gap + timeout + freshness_slack (1m).
	want := []nagios.HostObject{
		{Name: "app01", Services: []nagios.ServiceObject{svc("picket_externals", 2*2*time.Minute+time.Minute)}},
		{Name: "db01", Address: "192.0.2.5", CheckCommand: "check-host-alive", Freshness: 2*time.Minute + time.Minute, Services: []nagios.ServiceObject{
			svc("mysql", 2*checkspec.DefaultInterval+checkspec.DefaultTimeout+time.Minute),
		}},
		// A check reporting for another host makes it a host, named as
		// its address.
		{Name: "router1", Services: []nagios.ServiceObject{
			svc("ping", 2*2*time.Minute+checkspec.DefaultTimeout+time.Minute), // the externals' definition
			svc("snmp", 2*5*time.Minute+30*time.Second+time.Minute),
		}},
		// Its agent reports the host every 5m: DOWN when it stops.
		{Name: "web01", Address: "10.0.0.1", Freshness: 2*5*time.Minute + time.Minute, Services: []nagios.ServiceObject{
			svc("backup", 2*24*time.Hour+2*time.Minute+time.Minute),
			svc("disk", 2*time.Minute+10*time.Second+time.Minute), // not the agent's 30s
			svc("local_cron", 2*time.Hour+5*time.Second+time.Minute),
			svc("picket_poller", 2*7*time.Minute+time.Minute),
		}},
	}
	if !reflect.DeepEqual(hosts, want) {
		t.Errorf("hosts:\n got %+v\nwant %+v", hosts, want)
	}
	wantSHAs := map[string]string{"web01": fileSHA(t, web), "db01": fileSHA(t, db)}
	if !reflect.DeepEqual(shas, wantSHAs) {
		t.Errorf("shas = %v, want %v", shas, wantSHAs)
	}
	// Every host renders: nothing the builder makes is refused by Sync.
	for _, h := range hosts {
		if _, err := nagios.RenderHost(h, nagios.ObjectOptions{}); err != nil {
			t.Errorf("RenderHost(%s): %v", h.Name, err)
		}
	}
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(data)
}

// A symlink that stays inside the folder aliases a host (the handler
// serves it), so the alias gets Nagios objects too; otherwise its agent's
// results would be dropped and every download of it held by the gate.
func TestObjectBuilderSymlinkAlias(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "db01.toml", db01Externals, 0o644)
	if err := os.Symlink("db01.toml", filepath.Join(dir, "db02.toml")); err != nil {
		t.Skipf("symlinks: %v", err)
	}
	b := &objectBuilder{dir: dir, registry: openRegistry(t), nagios: testNagios(), logger: slog.New(slog.DiscardHandler)}
	hosts, shas, err := b.build(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mysql := []nagios.ServiceObject{svc("mysql", 2*checkspec.DefaultInterval+checkspec.DefaultTimeout+time.Minute)}
	want := []nagios.HostObject{{Name: "db01", CheckCommand: "check-host-alive", Services: mysql}, {Name: "db02", CheckCommand: "check-host-alive", Services: mysql}}
	if !reflect.DeepEqual(hosts, want) {
		t.Errorf("hosts:\n got %+v\nwant %+v", hosts, want)
	}
	if shas["db02"] == "" || shas["db02"] != shas["db01"] {
		t.Errorf("shas = %v: the alias is served with db01's content", shas)
	}
}

func TestObjectBuilderInvalidFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "web01.toml", web01Externals, 0o644)
	db := writeFile(t, dir, "db01.toml", db01Externals, 0o644)
	var logs syncBuffer
	b := &objectBuilder{dir: dir, registry: openRegistry(t), nagios: testNagios(), logger: slog.New(slog.NewTextHandler(&logs, nil))}
	first, _, err := b.build(time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// An administrator's typo in a file that was valid: the host keeps
	// its previous checks, and the SHA is of what is served now.
	writeFile(t, dir, "db01.toml", invalidExternals, 0o644)
	again, shas, err := b.build(time.Now())
	if err != nil {
		t.Fatalf("a host with a last valid version: %v", err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Errorf("objects changed over an invalid file:\n got %+v\nwant %+v", again, first)
	}
	if shas["db01"] != fileSHA(t, db) {
		t.Errorf("sha of db01 = %q, want the invalid file's", shas["db01"])
	}
	if !strings.Contains(logs.String(), "invalid externals file") || !strings.Contains(logs.String(), "db01.toml:1: check[0].command") {
		t.Errorf("log lacks the invalid file with its line and field:\n%s", logs.String())
	}
	// Once per version of the file, not at every scan; again when it
	// changes; its repair is logged.
	b.build(time.Now())
	if n := strings.Count(logs.String(), "invalid externals file"); n != 1 {
		t.Errorf("the same invalid file logged %d times:\n%s", n, logs.String())
	}
	writeFile(t, dir, "db01.toml", invalidExternals+"# another try\n", 0o644)
	b.build(time.Now())
	if n := strings.Count(logs.String(), "invalid externals file"); n != 2 {
		t.Errorf("a changed invalid file logged %d times in all, want 2:\n%s", n, logs.String())
	}
	writeFile(t, dir, "db01.toml", db01Externals, 0o644)
	if _, _, err := b.build(time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "externals file valid again") {
		t.Errorf("the repair is not logged:\n%s", logs.String())
	}
	writeFile(t, dir, "db01.toml", invalidExternals, 0o644)
	b.build(time.Now())

	// An invalid file never seen valid: nothing to keep, so no objects.
	writeFile(t, dir, "new01.toml", invalidExternals, 0o644)
	if hosts, _, err := b.build(time.Now()); err == nil || !strings.Contains(err.Error(), "new01.toml") {
		t.Errorf("build = %v, %v; want an error naming new01.toml", hosts, err)
	}

	// A host whose file was removed is forgotten: its next invalid file
	// has no previous version either.
	if err := os.Remove(filepath.Join(dir, "new01.toml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(db); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.build(time.Now()); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "db01.toml", invalidExternals, 0o644)
	if _, _, err := b.build(time.Now()); err == nil {
		t.Error("an invalid file of a removed host kept its old checks")
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a server.toml with every HTTP-side section, and the files
// it names, in a temporary folder.
type fixture struct {
	dir, extDir, objDir, cmdFile, failFlag, validateRuns string
	pub                                                  ed25519.PublicKey
	cfg                                                  *Config
	logs                                                 *syncBuffer
	logger                                               *slog.Logger
}

const baseTemplate = `# {{.Host}} ({{.OS}})
[[check]]
service = "disk_root"
command = "check_disk -w 10% -c 5% -p /"
interval = "1m"
`

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		dir:          dir,
		extDir:       filepath.Join(dir, "externals"),
		objDir:       filepath.Join(dir, "objects"),
		failFlag:     filepath.Join(dir, "fail"),
		validateRuns: filepath.Join(dir, "validate.runs"),
		logs:         &syncBuffer{},
	}
	f.logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", f.logs.String())
		}
	})
	pub, priv, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	f.pub = pub
	key := filepath.Join(dir, "externals.key")
	if err := signing.WriteSigningKey(key, priv); err != nil {
		t.Fatal(err)
	}
	tokens := writeFile(t, dir, "register.tokens", "# agents\ngood-token\n", 0o600)
	profDir := filepath.Join(dir, "profiles")
	if err := os.Mkdir(profDir, 0o755); err != nil {
		t.Fatal(err)
	}
	profiles := writeFile(t, profDir, "profiles.toml", "default = \"base\"\n", 0o644)
	writeFile(t, profDir, "base.toml", baseTemplate, 0o644)
	// Run through sh rather than executed: a script just written can be
	// "text file busy" for exec while another test forks.
	validate := writeFile(t, dir, "validate.sh", fmt.Sprintf(`echo run >> '%s'
if [ -e '%s' ]; then
	echo "Reading configuration data..."
	echo "Error: x"
	exit 1
fi
echo "Total Warnings: 0"
`, f.validateRuns, f.failFlag), 0o644)
	f.cmdFile = writeFile(t, dir, "nagios.cmd", "", 0o600)
	cfgPath := writeFile(t, dir, "server.toml", fmt.Sprintf(`state_dir = %q

[http]
listen = "127.0.0.1:0"

[externals]
dir = %q
signing_key = %q

[registration]
tokens_file = %q
profiles = %q
rate = 1000.0
burst = 1000
global_rate = 1000.0
global_burst = 1000

[nagios]
objects_dir = %q
validate_command = %q
command_file = %q
scan_interval = "1h"
min_reload_interval = "2s"
freshness_slack = "1m"
health_interval = "7m"
`, filepath.Join(dir, "state"), f.extDir, key, tokens, profiles, f.objDir,
		"/bin/sh '"+validate+"'", f.cmdFile), 0o600)
	if f.cfg, err = LoadConfig(cfgPath); err != nil {
		t.Fatal(err)
	}
	return f
}

// wantObjects is the object file Sync writes for h with the fixture's
// options.
func wantObjects(t *testing.T, h nagios.HostObject) []byte {
	t.Helper()
	b, err := nagios.RenderHost(h, nagios.ObjectOptions{StaleState: 3})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) objectFile(host string) ([]byte, error) {
	return os.ReadFile(filepath.Join(f.objDir, host+".cfg"))
}

func (f *fixture) restarts(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(f.cmdFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "] RESTART_PROGRAM\n")
}

func (f *fixture) hostEntry(t *testing.T, host string) autoreg.Entry {
	t.Helper()
	entries, err := Hosts(context.Background(), f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Host == host {
			return e.Entry
		}
	}
	t.Fatalf("%s not in the registry: %+v", host, entries)
	return autoreg.Entry{}
}

// Without Run: an invalid file never seen valid keeps every object file
// as it is (and runs no validator), and waiters are released anyway.
func TestSyncObjectsInvalidFileSyncsNothing(t *testing.T) {
	f := newFixture(t)
	c, err := newCentral(context.Background(), f.cfg, f.logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	writeFile(t, f.extDir, "web01.toml", web01Externals, 0o644)
	writeFile(t, f.extDir, "db01.toml", invalidExternals, 0o644)
	done := c.requestSync()
	c.syncObjects(ctx)
	select {
	case <-done:
	default:
		t.Error("a waiter was not released by a failed update")
	}
	if ents, err := os.ReadDir(f.objDir); err == nil && len(ents) > 0 {
		t.Errorf("objects_dir holds %d files after a failed build", len(ents))
	}
	if _, err := os.Stat(f.validateRuns); err == nil {
		t.Error("the validator ran for a build that failed")
	}
	if n := f.restarts(t); n != 0 {
		t.Errorf("%d reloads after a failed build", n)
	}
	if c.syncedSHA("web01") != "" {
		t.Error("web01 counted as synced")
	}

	writeFile(t, f.extDir, "db01.toml", db01Externals, 0o644)
	c.syncObjects(ctx)
	db01, err := f.objectFile("db01")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.objectFile("web01"); err != nil {
		t.Fatal(err)
	}
	if c.syncedSHA("db01") != fileSHA(t, filepath.Join(f.extDir, "db01.toml")) {
		t.Error("db01's SHA not recorded after a good update")
	}
	if n := f.restarts(t); n != 1 {
		t.Errorf("%d reloads, want 1", n)
	}

	// Broken after it was valid: its objects stay.
	writeFile(t, f.extDir, "db01.toml", invalidExternals, 0o644)
	c.syncObjects(ctx)
	if got, _ := f.objectFile("db01"); !bytes.Equal(got, db01) {
		t.Errorf("db01.cfg changed over an invalid externals file:\n%s", got)
	}
}

// server is picket server run in-process on a fixture.
type server struct {
	*fixture
	base   string
	client *http.Client
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	agents map[string]*agent
}

// agent is one agent's identity: its key, and the externals key it trusts.
type agent struct {
	host   string
	pub    ed25519.PublicKey
	signer *signing.Signer
}

func newAgent(t *testing.T, host string) *agent {
	t.Helper()
	pub, key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &agent{host: host, pub: pub, signer: signing.NewSigner(host, key)}
}

// agent is the host's own agent (the first one the test made for it).
func (s *server) agent(host string) *agent {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agents == nil {
		s.agents = map[string]*agent{}
	}
	a := s.agents[host]
	if a == nil {
		pub, key, _ := signing.GenerateKey()
		a = &agent{host: host, pub: pub, signer: signing.NewSigner(host, key)}
		s.agents[host] = a
	}
	return a
}

// shortName is the name the server gives a hostname (fqdn = false).
func shortName(hostname string) string {
	h, _, _ := strings.Cut(strings.ToLower(hostname), ".")
	return h
}

func startServer(t *testing.T, prepare ...func(*fixture)) *server {
	t.Helper()
	f := newFixture(t)
	for _, p := range prepare {
		p(f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{fixture: f, client: &http.Client{Timeout: 2 * time.Minute}, cancel: cancel, done: make(chan error, 1)}
	addrs := make(chan Addrs, 1)
	go func() { s.done <- Run(ctx, f.cfg, f.logger, func(a Addrs) { addrs <- a }) }()
	t.Cleanup(func() { s.stop(t) })
	select {
	case a := <-addrs:
		if a.HTTP == nil || a.NSCA != nil {
			t.Fatalf("addrs = %+v", a)
		}
		s.base = "http://" + a.HTTP.String()
	case err := <-s.done:
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run never became ready")
	}
	// A server with no host yet costs Nagios no restart at start.
	time.Sleep(100 * time.Millisecond)
	if n := f.restarts(t); n != 0 {
		t.Fatalf("%d restarts at start with no host to define", n)
	}
	return s
}

// stop cancels Run and returns its error; later calls return nil.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	if s.done == nil {
		return nil
	}
	s.cancel()
	var err error
	select {
	case err = <-s.done:
	case <-time.After(30 * time.Second):
		t.Error("Run did not return after cancel")
	}
	s.done = nil
	s.client.CloseIdleConnections()
	return err
}

func (s *server) poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// register registers req as its host's own agent does: with its key.
func (s *server) register(t *testing.T, token string, req autoreg.Request) (int, autoreg.Response, string) {
	t.Helper()
	if h := shortName(req.Hostname); autoreg.ValidHost(h) {
		return s.registerAs(t, s.agent(h), token, req)
	}
	// An agent signs as the name it has; this one has a bad one.
	return s.registerAs(t, newAgent(t, "bad-name"), token, req)
}

// registerAs registers req as a (nil: an agent without a key).
func (s *server) registerAs(t *testing.T, a *agent, token string, req autoreg.Request) (int, autoreg.Response, string) {
	t.Helper()
	if a != nil {
		req.PublicKey = signing.FormatPublicKey(a.pub)
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest(http.MethodPost, s.base+"/v1/register", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	r.Header.Set("Content-Type", "application/json")
	if a != nil {
		a.signer.Sign(r, body)
	}
	resp, err := s.client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out autoreg.Response
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("response %q: %v", raw, err)
		}
	}
	return resp.StatusCode, out, string(raw)
}

// get fetches path as an agent of this version does: signed by the own
// agent of the host the path names, if the test made one, and trusting
// the server's externals key.
func (s *server) get(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var a *agent
	if host, _, ok := externals.SplitName(strings.TrimPrefix(path, "/externals/")); ok {
		s.mu.Lock()
		a = s.agents[host]
		s.mu.Unlock()
	}
	return s.getAs(t, a, path, hdr...)
}

// getAs fetches path signed by a (nil: unsigned).
func (s *server) getAs(t *testing.T, a *agent, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set(signing.TrustHeader, signing.Fingerprint(s.pub))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	if a != nil {
		a.signer.Sign(r, nil)
	}
	resp, err := s.client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func agentRequest(hostname string) autoreg.Request {
	return autoreg.Request{
		Hostname:     hostname,
		FQDN:         hostname + ".example.com",
		OS:           "linux",
		Arch:         "amd64",
		Addresses:    []string{"192.0.2.10"},
		MACs:         []string{"02:00:00:00:00:01"},
		AgentVersion: "test",
		Services: []autoreg.Service{
			{Service: "picket_poller"}, // [nagios] health_interval: 7m
			{Service: "picket_spooler", IntervalSeconds: 60},
		},
	}
}

// web01Objects is what a registered web01 (agentRequest) gets in Nagios,
// with extra services of its externals.
func web01Objects(extra ...nagios.ServiceObject) nagios.HostObject {
	return nagios.HostObject{Name: "web01", Address: "192.0.2.10", Services: append([]nagios.ServiceObject{
		svc("disk_root", 2*time.Minute+checkspec.DefaultTimeout+time.Minute),
		svc("picket_poller", 2*7*time.Minute+time.Minute),
		svc("picket_spooler", 2*time.Minute+time.Minute),
	}, extra...)}
}

func renderedBase(host string) string {
	return strings.Replace(baseTemplate, "{{.Host}} ({{.OS}})", host+" (linux)", 1)
}

func TestServerRegistrationExternalsAndRender(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	// Registration: the host's externals are written and signed, and its
	// objects are in Nagios (and Nagios reloaded) before the answer.
	code, resp, raw := s.register(t, "good-token", agentRequest("web01.example.com"))
	if code != http.StatusOK || resp.Host != "web01" || resp.Profile != "base" || resp.Status != autoreg.StatusCreated {
		t.Fatalf("register: %d %s", code, raw)
	}
	got, err := s.objectFile("web01")
	if err != nil {
		t.Fatalf("no objects when the registration was answered: %v", err)
	}
	if want := wantObjects(t, web01Objects()); !bytes.Equal(got, want) {
		t.Errorf("web01.cfg:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(s.objDir, nagios.CommandsFile)); err != nil {
		t.Error(err)
	}
	if n := s.restarts(t); n != 1 {
		t.Errorf("%d RESTART_PROGRAM lines, want 1: one registration costs one reload", n)
	}
	data, err := os.ReadFile(filepath.Join(s.extDir, "web01.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != renderedBase("web01") {
		t.Errorf("web01.toml:\n%s", data)
	}
	sig, err := os.ReadFile(filepath.Join(s.extDir, "web01.toml.sig"))
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyV2(s.pub, "web01", data, sig); err != nil {
		t.Errorf("web01.toml.sig: %v", err)
	}
	if e := s.hostEntry(t, "web01"); e.Profile != "base" || e.LastError != "" || e.Remote != "127.0.0.1" {
		t.Errorf("registry entry: %+v", e)
	}

	// Refusals.
	for _, tt := range []struct {
		name, token, hostname string
		want                  int
	}{
		{"no token", "", "web02", http.StatusUnauthorized},
		{"bad token", "bad-token", "web02", http.StatusUnauthorized},
		{"dot-dot", "good-token", "../web02", http.StatusBadRequest},
		{"dot-dot inside", "good-token", "web02/../../etc", http.StatusBadRequest},
		{"empty", "good-token", "", http.StatusBadRequest},
	} {
		if code, _, raw := s.register(t, tt.token, agentRequest(tt.hostname)); code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, code, raw, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(s.extDir, "web02.toml")); err == nil {
		t.Error("a refused registration wrote externals")
	}
	if entries, _ := Hosts(context.Background(), s.cfg); len(entries) != 1 {
		t.Errorf("registry after refusals: %+v", entries)
	}

	// The same agent again: same host, nothing to write.
	code, resp, raw = s.register(t, "good-token", agentRequest("WEB01"))
	if code != http.StatusOK || resp.Host != "web01" || resp.Status != autoreg.StatusUnchanged {
		t.Errorf("second registration: %d %s", code, raw)
	}

	// Serving: signed, revalidated with the ETag.
	r, body := s.get(t, "/externals/web01.toml")
	if r.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET web01.toml: %d %q", r.StatusCode, body)
	}
	if err := verifyV2(s.pub, "web01", body, []byte(r.Header.Get(externals.SignatureHeader))); err != nil {
		t.Errorf("signature header: %v", err)
	}
	etag := r.Header.Get("ETag")
	if r, _ := s.get(t, "/externals/web01.toml", "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.StatusCode)
	}
	if r, sig := s.get(t, "/externals/web01.toml.sig"); r.StatusCode != http.StatusOK || verifyV2(s.pub, "web01", data, sig) != nil {
		t.Errorf("GET web01.toml.sig: %d %q", r.StatusCode, sig)
	}
	// Nothing outside the folder, however the path is written (the
	// server's own config is one level up).
	for _, p := range []string{"/externals/../server.toml", "/externals/..%2fserver.toml", "/externals/%2e%2e/server.toml",
		"/externals/%2e%2e%2fserver.toml", "/externals/..%5cserver.toml", "/externals/sub/../../server.toml",
		"/externals/", "/externals/web01.toml/", "/externals/nosuch.toml", "/server.toml"} {
		r, body := s.get(t, p)
		if r.StatusCode != http.StatusNotFound || bytes.Contains(body, []byte("signing_key")) {
			t.Errorf("GET %s: %d %q", p, r.StatusCode, body)
		}
	}
	if r, _ := s.get(t, "/v1/register"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/register: %d", r.StatusCode)
	}

	// An administrator adds a check: the next download waits until
	// Nagios knows the new service, then serves the new file.
	edited := string(data) + "\n[[check]]\nservice = \"http_local\"\ncommand = \"check_http -H localhost\"\ninterval = \"2m\"\n"
	writeFile(t, s.extDir, "web01.toml", edited, 0o644)
	r, body = s.get(t, "/externals/web01.toml")
	got, _ = s.objectFile("web01")
	if want := wantObjects(t, web01Objects(svc("http_local", 2*2*time.Minute+checkspec.DefaultTimeout+time.Minute))); !bytes.Equal(got, want) {
		t.Errorf("web01.cfg when the edited file was served:\n%s\nwant:\n%s", got, want)
	}
	if r.StatusCode != http.StatusOK || string(body) != edited {
		t.Errorf("GET edited web01.toml: %d %q", r.StatusCode, body)
	}
	if err := verifyV2(s.pub, "web01", body, []byte(r.Header.Get(externals.SignatureHeader))); err != nil {
		t.Errorf("signature of the edited file: %v", err)
	}
	if n := s.restarts(t); n != 2 {
		t.Errorf("%d RESTART_PROGRAM lines, want 2 (the registration, the edit)", n)
	}
	// Synced now: the next download is not held, and changes nothing.
	if r, _ := s.get(t, "/externals/web01.toml", "If-None-Match", r.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match after the edit: %d", r.StatusCode)
	}

	// A download is a contact, kept in memory and written when the server
	// stops.
	before := s.hostEntry(t, "web01").LastSeen
	s.poll(t, "the clock to move", func() bool { return time.Now().After(before) })
	fetched := time.Now()
	if r, _ := s.get(t, "/externals/web01.toml"); r.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d", r.StatusCode)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	e := s.hostEntry(t, "web01")
	if e.LastSeen.Before(fetched) || e.Remote != "127.0.0.1" {
		t.Errorf("after stop: last seen %v (download at %v), remote %q", e.LastSeen, fetched, e.Remote)
	}

	// Render keeps the administrator's file unless forced.
	ctx := context.Background()
	res, err := Render(ctx, s.cfg, []string{"web01"}, false, s.logger)
	if err != nil || len(res) != 1 || res[0].Host != "web01" || res[0].Status != autoreg.StatusKept {
		t.Errorf("Render = %+v, %v", res, err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.extDir, "web01.toml")); string(b) != edited {
		t.Errorf("Render without force changed the edited file:\n%s", b)
	}
	res, err = Render(ctx, s.cfg, []string{"web01"}, true, s.logger)
	if err != nil || len(res) != 1 || res[0].Status != autoreg.StatusUpdated {
		t.Errorf("Render force = %+v, %v", res, err)
	}
	data, _ = os.ReadFile(filepath.Join(s.extDir, "web01.toml"))
	sig, _ = os.ReadFile(filepath.Join(s.extDir, "web01.toml.sig"))
	if string(data) != renderedBase("web01") || verifyV2(s.pub, "web01", data, sig) != nil {
		t.Errorf("after Render force: %q, signature %q", data, sig)
	}
	// No hosts named: every registered host.
	if res, err := Render(ctx, s.cfg, nil, false, s.logger); err != nil || len(res) != 1 || res[0].Status != autoreg.StatusUnchanged {
		t.Errorf("Render all = %+v, %v", res, err)
	}
	if _, err := Render(ctx, s.cfg, []string{"nosuch"}, false, s.logger); !errors.Is(err, autoreg.ErrUnknownHost) {
		t.Errorf("Render of an unknown host: %v", err)
	}
	entries, err := Hosts(ctx, s.cfg)
	if err != nil || len(entries) != 1 || entries[0].Host != "web01" || entries[0].Profile != "base" ||
		entries[0].Facts.AgentVersion != "test" || entries[0].Binding == nil ||
		entries[0].Binding.Fingerprint != signing.Fingerprint(s.agent("web01").pub) {
		t.Errorf("Hosts = %+v, %v", entries, err)
	}
}

func TestServerFailingValidator(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if code, _, raw := s.register(t, "good-token", agentRequest("web01")); code != http.StatusOK {
		t.Fatalf("register web01: %d %s", code, raw)
	}
	web01, err := s.objectFile("web01")
	if err != nil {
		t.Fatal(err)
	}
	restarts := s.restarts(t)

	// Nagios refuses the configuration: the new host's file is put back
	// (removed), the others stay, and the host's record says why.
	writeFile(t, s.dir, "fail", "", 0o644)
	code, resp, raw := s.register(t, "good-token", agentRequest("db01"))
	if code != http.StatusOK || resp.Host != "db01" {
		t.Fatalf("register db01: %d %s", code, raw)
	}
	if _, err := s.objectFile("db01"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("db01.cfg left in objects_dir after a failed validation: %v", err)
	}
	if got, _ := s.objectFile("web01"); !bytes.Equal(got, web01) {
		t.Errorf("web01.cfg changed:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(s.objDir, nagios.CommandsFile)); err != nil {
		t.Error(err)
	}
	if n := s.restarts(t); n != restarts {
		t.Errorf("Nagios reloaded after a failed validation (%d reloads, had %d)", n, restarts)
	}
	if e := s.hostEntry(t, "db01"); !strings.Contains(e.LastError, "Error: x") {
		t.Errorf("db01's last error = %q, want the validator's", e.LastError)
	}
	if e := s.hostEntry(t, "web01"); e.LastError != "" {
		t.Errorf("web01 blamed for db01: %q", e.LastError)
	}

	// Nagios accepts it again: the next update writes the host and clears
	// its error.
	if err := os.Remove(s.failFlag); err != nil {
		t.Fatal(err)
	}
	if code, _, raw := s.register(t, "good-token", agentRequest("db01")); code != http.StatusOK {
		t.Fatalf("register db01 again: %d %s", code, raw)
	}
	if _, err := s.objectFile("db01"); err != nil {
		t.Error(err)
	}
	if e := s.hostEntry(t, "db01"); e.LastError != "" {
		t.Errorf("db01's last error after a good update: %q", e.LastError)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// Without Run: a failed update is recorded against the registered hosts it
// concerns (not against a host whose object file is the administrator's),
// and cleared once Nagios has their objects.
func TestSyncObjectsRecordsFailures(t *testing.T) {
	f := newFixture(t)
	c, err := newCentral(context.Background(), f.cfg, f.logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, h := range []string{"web01", "db01", "admin01"} {
		if err := c.registry.Put(autoreg.Entry{Host: h}); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, f.extDir, "web01.toml", web01Externals, 0o644)
	if err := os.MkdirAll(f.objDir, 0o755); err != nil {
		t.Fatal(err)
	}
	foreign := writeFile(t, f.objDir, "admin01.cfg", "define host {\n    host_name admin01\n}\n", 0o644)
	lastErrors := func() map[string]string {
		m := map[string]string{}
		for _, e := range c.registry.List() {
			m[e.Host] = e.LastError
		}
		return m
	}

	// The validator says no: nothing is written, every host it would have
	// written is told why.
	writeFile(t, f.dir, "fail", "", 0o644)
	c.syncObjects(ctx)
	errs := lastErrors()
	for _, h := range []string{"web01", "db01"} {
		if !strings.Contains(errs[h], "Error: x") {
			t.Errorf("%s: last error %q, want the validator's", h, errs[h])
		}
	}
	if errs["admin01"] != "" {
		t.Errorf("admin01, whose file is the administrator's, blamed: %q", errs["admin01"])
	}
	if _, err := f.objectFile("web01"); err == nil {
		t.Error("web01.cfg left after a failed validation")
	}

	// Validated, but Nagios cannot be told to reload: the files stay, the
	// hosts say why.
	if err := os.Remove(f.failFlag); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f.cmdFile); err != nil {
		t.Fatal(err)
	}
	c.syncObjects(ctx)
	errs = lastErrors()
	for _, h := range []string{"web01", "db01"} {
		if !strings.Contains(errs[h], "reload") || strings.Contains(errs[h], "Error: x") {
			t.Errorf("%s: last error %q, want the reload's", h, errs[h])
		}
	}
	if _, err := f.objectFile("web01"); err != nil {
		t.Errorf("validated web01.cfg not kept: %v", err)
	}

	// The next update reloads: Nagios has every host, no error is left.
	writeFile(t, f.dir, "nagios.cmd", "", 0o600)
	c.syncObjects(ctx)
	if n := f.restarts(t); n != 1 {
		t.Errorf("%d reloads, want 1", n)
	}
	for h, e := range lastErrors() {
		if e != "" {
			t.Errorf("%s: last error %q after Nagios reloaded", h, e)
		}
	}
	if b, _ := os.ReadFile(foreign); !strings.HasPrefix(string(b), "define host") {
		t.Errorf("the administrator's file changed:\n%s", b)
	}
}

// verifyV2 checks a v2 externals signature, as an agent of this version.
func verifyV2(pub ed25519.PublicKey, host string, data, sig []byte) error {
	s, err := signing.ParseSignature(sig)
	if err == nil {
		_, err = s.Verify([]ed25519.PublicKey{pub}, host, data)
	}
	return err
}
