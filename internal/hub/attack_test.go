package hub

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/signing"
)

// The attacks of issue 16, and more, made for real against a running
// picket server: each is refused, and the Nagios objects, the externals,
// the registry, the identities, the token uses and the command file
// (no reload) are byte for byte what they were.

func tokenTOML(name, token, extra string) string {
	sum := sha256.Sum256([]byte(token))
	return "[[token]]\nname = \"" + name + "\"\nsha256 = \"" + hex.EncodeToString(sum[:]) + "\"\n" + extra + "\n"
}

// withIdentityFixture gives the server TOML tokens and a profile that
// lets its agents report for routers.
func withIdentityFixture(t *testing.T) func(*fixture) {
	return func(f *fixture) { identityFixture(t, f) }
}

func identityFixture(t *testing.T, f *fixture) {
	writeFile(t, f.dir, "register.tokens", "# enrollment tokens\n"+
		tokenTOML("fleet", "good-token", "")+
		tokenTOML("once", "once-token", "max_uses = 1")+
		tokenTOML("old", "old-token", "expires = 2025-01-01T00:00:00Z")+
		tokenTOML("web-only", "web-token", "hosts = \"web[0-9]+\""), 0o600)
	writeFile(t, filepath.Join(f.dir, "profiles"), "profiles.toml",
		"default = \"base\"\n\n[profile.base]\nmonitored_hosts = \"router[0-9]+\"\n", 0o644)
}

// state is every file of the server's side, but the lock files.
func (f *fixture) state(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(f.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasSuffix(p, ".lock") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[p] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func unchanged(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s: %s was removed", what, p)
		} else if a != b {
			t.Errorf("%s: %s changed:\n%s", what, p, a)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s appeared", what, p)
		}
	}
}

// signedRequest is a request a signed and sent once, to be sent again.
func (s *server) signedRequest(t *testing.T, a *agent, method, path string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set(signing.TrustHeader, signing.Fingerprint(s.pub))
	if err := a.signer.Sign(r, body); err != nil {
		t.Fatal(err)
	}
	return r
}

func (s *server) send(t *testing.T, r *http.Request, body []byte) (int, string) {
	t.Helper()
	r = r.Clone(context.Background())
	r.Body = http.NoBody
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := s.client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func TestAttacksAreRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, withIdentityFixture(t))

	// What is there before the attacks: web01 and web02 registered by
	// their agents, db01 by the one use of the once token, and a
	// signature request of web01's agent to replay.
	for _, h := range []string{"web01", "web02"} {
		if code, _, raw := s.register(t, "good-token", agentRequest(h)); code != http.StatusOK {
			t.Fatalf("register %s: %d %s", h, code, raw)
		}
	}
	if code, _, raw := s.register(t, "once-token", agentRequest("db01")); code != http.StatusOK {
		t.Fatalf("register db01: %d %s", code, raw)
	}
	web01 := s.agent("web01")
	regBody, _ := json.Marshal(func() autoreg.Request {
		r := agentRequest("web01")
		r.PublicKey = signing.FormatPublicKey(web01.pub)
		return r
	}())
	captured := s.signedRequest(t, web01, http.MethodPost, "/v1/register", regBody)
	if code, raw := s.send(t, captured, regBody); code != http.StatusOK {
		t.Fatalf("web01's own registration: %d %s", code, raw)
	}
	// A .sig download is not a contact the registry records, so it
	// leaves the registry as it is for the comparisons below.
	capturedGet := s.signedRequest(t, web01, http.MethodGet, "/externals/web01.toml.sig", nil)
	if code, raw := s.send(t, capturedGet, nil); code != http.StatusOK {
		t.Fatalf("web01's own download: %d %s", code, raw)
	}

	attacker := newAgent(t, "web01")
	forged := agentRequest("web01")
	forged.Addresses = []string{"6.6.6.6"}
	forged.Metadata = []string{"pwned"}
	forged.OSVersion = "attacker"
	multi := func(hosts ...string) autoreg.Request {
		r := agentRequest("web07")
		for _, h := range hosts {
			r.Services = append(r.Services, autoreg.Service{Host: h, Service: "http", IntervalSeconds: 60})
		}
		return r
	}
	badCron := agentRequest("web08")
	badCron.Services = append(badCron.Services, autoreg.Service{Service: "backup", Cron: "0 25 * * *"})

	before := s.state(t)
	restarts := s.restarts(t)
	for _, tt := range []struct {
		name string
		do   func() (int, string)
		code int
		want string
	}{
		{"a second client re-registers web01 with the shared token, at 6.6.6.6", func() (int, string) {
			code, _, raw := s.registerAs(t, attacker, "good-token", forged)
			return code, raw
		}, 403, "host web01 is bound to the key " + signing.Fingerprint(web01.pub)},
		{"the same without a key, as an old agent", func() (int, string) {
			code, _, raw := s.registerAs(t, nil, "good-token", forged)
			return code, raw
		}, 403, "this request carries no key"},
		{"web07 declares services for web01 and ghosthost", func() (int, string) {
			code, _, raw := s.registerAs(t, newAgent(t, "web07"), "good-token", multi("ghosthost", "web01"))
			return code, raw
		}, 403, "is for host web01, which is bound to another agent's key"},
		{"web07 declares services for ghosthost", func() (int, string) {
			code, _, raw := s.registerAs(t, newAgent(t, "web07"), "good-token", multi("ghosthost", "router1"))
			return code, raw
		}, 403, "services for host ghosthost refused: profile base allows"},
		{"a registration with an invalid cron", func() (int, string) {
			code, _, raw := s.registerAs(t, newAgent(t, "web08"), "good-token", badCron)
			return code, raw
		}, 400, "services[2].cron: "},
		{"web01's registration replayed", func() (int, string) { return s.send(t, captured, regBody) }, 401, "seen before (a replay)"},
		{"a token used up", func() (int, string) {
			code, _, raw := s.register(t, "once-token", agentRequest("db02"))
			return code, raw
		}, 401, `token \"once\" is used up (1 of 1 registrations)`},
		{"an expired token", func() (int, string) {
			code, _, raw := s.register(t, "old-token", agentRequest("db03"))
			return code, raw
		}, 401, `token \"old\" expired at 2025-01-01T00:00:00Z`},
		{"a token for other host names", func() (int, string) {
			code, _, raw := s.register(t, "web-token", agentRequest("db04"))
			return code, raw
		}, 403, `token \"web-only\" does not admit host db04`},
		{"web01's externals without a credential", func() (int, string) {
			r, body := s.getAs(t, nil, "/externals/web01.toml")
			return r.StatusCode, string(body)
		}, 401, "served only to the agent holding key " + signing.Fingerprint(web01.pub) + ": this request is not signed by it"},
		{"web01's externals with web02's credential", func() (int, string) {
			r, body := s.getAs(t, s.agent("web02"), "/externals/web01.toml")
			return r.StatusCode, string(body)
		}, 403, "belong to the agent holding key"},
		{"web01's externals signed as web01 by another key", func() (int, string) {
			r, body := s.getAs(t, attacker, "/externals/web01.toml")
			return r.StatusCode, string(body)
		}, 401, "does not match key"},
		{"web01's signature download replayed", func() (int, string) { return s.send(t, capturedGet, nil) }, 401, "seen before (a replay)"},
		{"a download signed as a host no key is bound to", func() (int, string) {
			r, body := s.getAs(t, newAgent(t, "ghosthost"), "/externals/web01.toml")
			return r.StatusCode, string(body)
		}, 401, "served only to the agent holding key " + signing.Fingerprint(web01.pub) + ": this request is not signed by it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, raw := tt.do()
			if code != tt.code || !strings.Contains(raw, tt.want) {
				t.Errorf("got %d %s\nwant %d and %q", code, raw, tt.code, tt.want)
			}
		})
	}
	// Nagios was not reloaded for any of them; if a sync were pending it
	// would have run within min_reload_interval.
	time.Sleep(3 * time.Second)
	unchanged(t, "after the attacks", before, s.state(t))
	if n := s.restarts(t); n != restarts {
		t.Errorf("%d reloads during the attacks", n-restarts)
	}
	if e := s.hostEntry(t, "web01"); e.Facts.Addresses[0] != "192.0.2.10" {
		t.Errorf("web01's address is %v", e.Facts.Addresses)
	}
	if strings.Contains(s.logs.String(), "good-token") {
		t.Error("a token is in the log")
	}

	// The legitimate agents are still served.
	if r, _ := s.get(t, "/externals/web01.toml"); r.StatusCode != http.StatusOK {
		t.Errorf("web01's own download: %d", r.StatusCode)
	}
	if code, _, raw := s.register(t, "", agentRequest("web02")); code != http.StatusOK {
		t.Errorf("web02 registering again without a token: %d %s", code, raw)
	}
}

// A rogue server (or a man in the middle on plain http) serving an older
// file signed by the real server is refused by the agent: its serial is
// older than the one the agent runs.
func TestOlderSignedExternalsRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if code, _, raw := s.register(t, "good-token", agentRequest("web01")); code != http.StatusOK {
		t.Fatalf("register: %d %s", code, raw)
	}
	cache := t.TempDir()
	puller := func(url string) *externals.Puller {
		p, err := externals.NewPuller(externals.Options{URL: url + "/externals/", PublicKeys: []ed25519.PublicKey{s.pub},
			CacheDir: cache, Signer: s.agent("web01").signer, RetryMax: -1})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	real := puller(s.base)
	// Version 1, as the network saw it.
	r, v1 := s.get(t, "/externals/web01.toml")
	v1sig := r.Header.Get(externals.SignatureHeader)
	if o := real.Fetch(context.Background(), "web01"); o.Status != externals.Updated {
		t.Fatalf("fetch v1: %v %v", o.Status, o.Err)
	}
	// The administrator changes it; the agent takes version 2.
	writeFile(t, s.extDir, "web01.toml", string(v1)+"\n# version 2\n", 0o644)
	if o := real.Fetch(context.Background(), "web01"); o.Status != externals.Updated {
		t.Fatalf("fetch v2: %v %v", o.Status, o.Err)
	}
	before := dirFiles(t, cache)
	rogue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(externals.SignatureHeader, v1sig)
		w.Write(v1)
	}))
	defer rogue.Close()
	o := puller(rogue.URL).Fetch(context.Background(), "web01")
	if o.Status != externals.Rejected || !strings.Contains(o.Err.Error(), "refused as a replay") {
		t.Fatalf("the replayed version 1: %v %v", o.Status, o.Err)
	}
	unchanged(t, "the agent's cache", before, dirFiles(t, cache))
}

func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = string(b)
	}
	return out
}

// An administrator rekeys and releases hosts while the server runs. With
// require_identity, a released host's files go to no one until its next
// registration binds a key.
func TestRekeyAndForgetWhileRunning(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *fixture) { f.cfg.Externals.RequireIdentity = true })
	old := s.agent("web01")
	if code, _, raw := s.register(t, "good-token", agentRequest("web01")); code != http.StatusOK {
		t.Fatalf("register: %d %s", code, raw)
	}
	ctx := context.Background()
	if _, err := Rekey(ctx, s.cfg, "web01"); err != nil {
		t.Fatal(err)
	}
	hosts, err := Hosts(ctx, s.cfg)
	if err != nil || len(hosts) != 1 || hosts[0].Binding == nil || hosts[0].Binding.RekeyRequested.IsZero() {
		t.Fatalf("Hosts = %+v, %v", hosts, err)
	}
	// The server notices within a second.
	time.Sleep(1100 * time.Millisecond)
	fresh := newAgent(t, "web01")
	if code, _, raw := s.registerAs(t, fresh, "", agentRequest("web01")); code != http.StatusUnauthorized {
		t.Errorf("new key without a token: %d %s", code, raw)
	}
	if code, resp, raw := s.registerAs(t, fresh, "good-token", agentRequest("web01")); code != http.StatusOK || resp.Key != signing.Fingerprint(fresh.pub) {
		t.Fatalf("new key with a token: %d %s", code, raw)
	}
	if code, _, _ := s.registerAs(t, old, "good-token", agentRequest("web01")); code != http.StatusForbidden {
		t.Errorf("the replaced key: %d", code)
	}
	if r, _ := s.getAs(t, old, "/externals/web01.toml"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the replaced key downloads: %d", r.StatusCode)
	}
	if r, _ := s.getAs(t, fresh, "/externals/web01.toml"); r.StatusCode != http.StatusOK {
		t.Errorf("the new key downloads: %d", r.StatusCode)
	}

	if b, err := Forget(ctx, s.cfg, "web01"); err != nil || b.Fingerprint != signing.Fingerprint(fresh.pub) {
		t.Fatalf("Forget = %+v, %v", b, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if r, _ := s.getAs(t, fresh, "/externals/web01.toml"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a forgotten key downloads: %d", r.StatusCode)
	}
	third := newAgent(t, "web01")
	if code, _, raw := s.registerAs(t, third, "good-token", agentRequest("web01")); code != http.StatusOK {
		t.Errorf("after forget, a new agent with a token: %d %s", code, raw)
	}
}

// A flood of refused requests costs a few log lines and one summary per
// interval, not a line each.
func TestRefusalFloodIsSummed(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	if code, _, raw := s.register(t, "good-token", agentRequest("web01")); code != http.StatusOK {
		t.Fatalf("register: %d %s", code, raw)
	}
	const n = 300
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				s.registerAs(t, newAgent(t, "web01"), "bad-token", agentRequest("web01"))
			} else {
				s.getAs(t, nil, "/externals/web01.toml")
			}
		}()
		if i%20 == 19 {
			wg.Wait()
		}
	}
	wg.Wait()
	// Every refusal is in the log: a line of its own, or counted in a
	// summary.
	total := func() (lines, counted int) {
		for _, l := range strings.Split(s.logs.String(), "\n") {
			switch {
			case strings.Contains(l, `msg="request refused"`):
				lines++
			case strings.Contains(l, "more requests refused"):
				var k int
				if _, err := fmt.Sscanf(l[strings.Index(l, "refused=")+len("refused="):], "%d", &k); err == nil {
					counted += k
				}
			}
		}
		return lines, counted
	}
	s.poll(t, "the summaries", func() bool { l, c := total(); return l+c == n })
	lines, _ := total()
	if lines > refusalsLoggedEach*2 {
		t.Errorf("%d lines for %d refusals", lines, n)
	}
	summary := findLine(s.logs.String(), "more requests refused")
	if !strings.Contains(summary, "bound to another key") || !strings.Contains(summary, "externals Unauthorized") ||
		!strings.Contains(summary, "from 127.0.0.1") {
		t.Errorf("summary: %s", summary)
	}
	t.Logf("%d refusals: %d lines and\n%s", n, lines, summary)
}

func findLine(text, part string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, part) {
			return l
		}
	}
	return ""
}

// A storm of new hosts costs Nagios a bounded number of reloads: one per
// min_reload_interval (2s here) at most.
func TestRegistrationStormReloadsBounded(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	before := s.restarts(t)
	const hosts = 40
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan string, hosts)
	for i := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := "node" + string(rune('a'+i/26)) + string(rune('a'+i%26))
			if code, _, raw := s.register(t, "good-token", agentRequest(h)); code != http.StatusOK {
				errs <- h + ": " + raw
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	took := time.Since(start)
	reloads := s.restarts(t) - before
	if limit := 1 + int(took/(2*time.Second)) + 1; reloads > limit {
		t.Errorf("%d reloads for %d new hosts in %v, want at most %d", reloads, hosts, took.Round(time.Millisecond), limit)
	}
	if ents, _ := os.ReadDir(s.objDir); len(ents) < hosts {
		t.Errorf("%d object files for %d hosts", len(ents), hosts)
	}
	t.Logf("%d new hosts registered in %v with %d Nagios reloads", hosts, took.Round(time.Millisecond), reloads)
}

// With next_signing_key, an agent that trusts only the current key is
// told of the next one; one that trusts both gets its files signed by the
// next key.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	var nextPub ed25519.PublicKey
	s := startServer(t, func(f *fixture) {
		pub, key, err := signing.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		nextPub = pub
		path := filepath.Join(f.dir, "next.key")
		if err := signing.WriteSigningKey(path, key); err != nil {
			t.Fatal(err)
		}
		f.cfg.Externals.NextSigningKey = path
	})
	if code, _, raw := s.register(t, "good-token", agentRequest("web01")); code != http.StatusOK {
		t.Fatalf("register: %d %s", code, raw)
	}
	fetch := func(keys ...ed25519.PublicKey) externals.Outcome {
		p, err := externals.NewPuller(externals.Options{URL: s.base + "/externals/", PublicKeys: keys,
			CacheDir: t.TempDir(), Signer: s.agent("web01").signer, RetryMax: -1})
		if err != nil {
			t.Fatal(err)
		}
		return p.Fetch(context.Background(), "web01")
	}
	o := fetch(s.pub)
	if o.Status != externals.Updated || o.Snapshot.Meta.Key != signing.Fingerprint(s.pub) || o.Snapshot.Meta.Next != signing.Fingerprint(nextPub) {
		t.Fatalf("trusting the current key: %v %v %+v", o.Status, o.Err, o.Snapshot)
	}
	o = fetch(s.pub, nextPub)
	if o.Status != externals.Updated || o.Snapshot.Meta.Key != signing.Fingerprint(nextPub) || o.Snapshot.Meta.Next != "" {
		t.Fatalf("trusting both: %v %v %+v", o.Status, o.Err, o.Snapshot)
	}
	if o := fetch(nextPub); o.Status != externals.Updated {
		t.Errorf("trusting the next key alone: %v %v", o.Status, o.Err)
	}
}

// Files of hosts no key is bound to (registered before identities, or
// written by hand) are served as before, unless require_identity; then
// only to an agent whose profile's monitored_hosts lists the host.
func TestUnboundExternals(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{false, true} {
		s := startServer(t, withIdentityFixture(t), func(f *fixture) { f.cfg.Externals.RequireIdentity = strict })
		if code, _, raw := s.register(t, "good-token", agentRequest("web01")); code != http.StatusOK {
			t.Fatalf("register: %d %s", code, raw)
		}
		writeFile(t, s.extDir, "router1.toml", db01Externals, 0o644)
		writeFile(t, s.extDir, "printer1.toml", db01Externals, 0o644)
		want := map[bool]int{false: 200, true: 401}[strict]
		if r, _ := s.getAs(t, nil, "/externals/router1.toml"); r.StatusCode != want {
			t.Errorf("require_identity %v: anonymous download of an unbound host's file: %d, want %d", strict, r.StatusCode, want)
		}
		// web01's profile (base) lists router[0-9]+.
		if r, _ := s.getAs(t, s.agent("web01"), "/externals/router1.toml"); r.StatusCode != 200 {
			t.Errorf("require_identity %v: web01 downloads its monitored host's file: %d", strict, r.StatusCode)
		}
		r, body := s.getAs(t, s.agent("web01"), "/externals/printer1.toml")
		want = map[bool]int{false: 200, true: 403}[strict]
		if r.StatusCode != want {
			t.Errorf("require_identity %v: web01 downloads a host its profile does not list: %d %s, want %d", strict, r.StatusCode, body, want)
		}
		s.stop(t)
	}
}
