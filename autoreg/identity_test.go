package autoreg

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

	"golang.org/x/time/rate"

	"github.com/picket-monitoring/picket/internal/signing"
)

// guarded is the registration endpoint with identities and TOML tokens,
// as picket server runs it.
type guarded struct {
	*server
	state string // state_dir: identities.json, token-uses.json
	ids   *Identities
	guard *Guard
	clock time.Time

	mu       sync.Mutex
	refusals []Refusal
}

// tokensTOML holds the test's tokens: fleet (any host), web-only (hosts
// web*, profile web), once (one use), old (expired).
var tokensTOML = "# enrollment tokens\n" + strings.Join([]string{
	tokenTable("fleet", "fleet-token", ``),
	tokenTable("web-only", "web-token", "hosts = \"web[0-9]+\"\nprofile = \"web\"\n"),
	tokenTable("once", "once-token", "max_uses = 1\n"),
	tokenTable("old", "old-token", "expires = 2025-01-01T00:00:00Z\n"),
}, "\n")

func tokenTable(name, token, extra string) string {
	sum := sha256.Sum256([]byte(token))
	return "[[token]]\nname = \"" + name + "\"\nsha256 = \"" + hex.EncodeToString(sum[:]) + "\"\n" + extra
}

// profilesWithMonitoring lets base agents report for routers.
const profilesWithMonitoring = testProfiles + `
[profile.base]
monitored_hosts = "router[0-9]+"
`

func newGuarded(t *testing.T, registered ...string) *guarded {
	t.Helper()
	g := &guarded{clock: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	g.server = newServerWith(t, profilesWithMonitoring, HandlerOptions{Guard: &Guard{}, Refused: func(r Refusal) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.refusals = append(g.refusals, r)
	}})
	g.state = filepath.Join(g.dir, "state")
	os.Mkdir(g.state, 0o700)
	for _, h := range registered {
		if err := g.a.Registry.Put(Entry{Host: h, Profile: "base", Facts: Request{Hostname: h, OS: "linux"}}); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := OpenIdentities(context.Background(), filepath.Join(g.state, "identities.json"), registered)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := LoadTokens(writeFile(t, filepath.Join(g.dir, "tokens.toml"), tokensTOML, 0o600), filepath.Join(g.state, "token-uses.json"))
	if err != nil {
		t.Fatal(err)
	}
	g.ids = ids
	g.guard = g.h.(*handler).o.Guard
	g.guard.Tokens, g.guard.Identities, g.guard.Replay = tokens, ids, &signing.ReplayCache{}
	g.guard.Now = func() time.Time { return time.Now() }
	g.guard.Logger = g.logs.logger()
	g.a.Bound = func(h string) bool { _, ok := ids.Get(h); return ok }
	return g
}

// agentKey is one agent's identity.
type agentKey struct {
	pub    ed25519.PublicKey
	signer *signing.Signer
}

func newAgent(t *testing.T, host string) *agentKey {
	pub, key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &agentKey{pub: pub, signer: signing.NewSigner(host, key)}
}

// request is a registration of host by a (nil: no key), with token.
func (a *agentKey) request(t *testing.T, host, token string, mod func(*Request)) *http.Request {
	t.Helper()
	req := Request{Hostname: host, OS: "linux", Addresses: []string{"192.0.2.7"}}
	if a != nil {
		req.PublicKey = signing.FormatPublicKey(a.pub)
	}
	if mod != nil {
		mod(&req)
	}
	body, _ := json.Marshal(req)
	r := httptest.NewRequest(http.MethodPost, "/v1/register", bytes.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if a != nil {
		if err := a.signer.Sign(r, body); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (g *guarded) do(r *http.Request) *httptest.ResponseRecorder {
	// The body is kept for a replay.
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	w := httptest.NewRecorder()
	g.h.ServeHTTP(w, r)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return w
}

// expect sends r and checks the answer's code and, for failures, that the
// message holds want.
func (g *guarded) expect(t *testing.T, r *http.Request, code int, want string) Response {
	t.Helper()
	w := g.do(r)
	var e errorBody
	json.Unmarshal(w.Body.Bytes(), &e)
	if w.Code != code || !strings.Contains(e.Error, want) {
		t.Fatalf("status %d %s\nwant %d and %q\nlog:\n%s", w.Code, w.Body, code, want, g.logs)
	}
	var resp Response
	json.Unmarshal(w.Body.Bytes(), &resp)
	return resp
}

// snapshot is every file under dir: a refused request must change none.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasSuffix(p, ".lock") {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

func sameFiles(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if after[p] != b {
			t.Errorf("%s changed", p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s appeared", p)
		}
	}
}

func TestEnrollmentBindsHostToKey(t *testing.T) {
	g := newGuarded(t)
	a := newAgent(t, "db01")
	resp := g.expect(t, a.request(t, "db01", "fleet-token", nil), 200, "")
	if resp.Host != "db01" || resp.Key != signing.Fingerprint(a.pub) || resp.BoundSince.IsZero() {
		t.Fatalf("response %+v", resp)
	}
	if b, ok := g.ids.Get("db01"); !ok || !b.PublicKey().Equal(a.pub) || b.Token != "fleet" {
		t.Fatalf("binding %+v %v", b, ok)
	}
	// Its own agent needs no token any more.
	if resp := g.expect(t, a.request(t, "db01", "", nil), 200, ""); resp.Status != StatusUnchanged || resp.Key != signing.Fingerprint(a.pub) {
		t.Errorf("re-registration: %+v", resp)
	}

	// Everyone else is refused, with the token or without, and nothing
	// on disk changes.
	before := snapshot(t, g.dir)
	other := newAgent(t, "db01")
	for _, tt := range []struct {
		name string
		r    *http.Request
		code int
		want string
	}{
		{"another key with a token", other.request(t, "db01", "fleet-token", func(r *Request) { r.Addresses = []string{"198.51.100.6"} }), 403,
			"host db01 is bound to the key " + signing.Fingerprint(a.pub)},
		{"no key with a token", (*agentKey)(nil).request(t, "db01", "fleet-token", nil), 403, "carries no key"},
		{"another key claiming the bound one", other.request(t, "db01", "", func(r *Request) { r.PublicKey = signing.FormatPublicKey(a.pub) }), 401,
			"does not match key"},
		{"a key without the signature", func() *http.Request {
			r := other.request(t, "db01", "fleet-token", nil)
			r.Header.Del(signing.AuthHeader)
			return r
		}(), 401, "nothing proves the agent holds it"},
	} {
		t.Run(tt.name, func(t *testing.T) { g.expect(t, tt.r, tt.code, tt.want) })
	}
	sameFiles(t, before, snapshot(t, g.dir))
	// A replay of the bound agent's own request.
	r := a.request(t, "db01", "", nil)
	g.expect(t, r, 200, "")
	before = snapshot(t, g.dir)
	g.expect(t, r, 401, "seen before (a replay)")
	sameFiles(t, before, snapshot(t, g.dir))
	if !strings.Contains(g.logs.String(), "host bound to its agent's key") {
		t.Errorf("the binding was not logged:\n%s", g.logs)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.refusals) != 5 || g.refusals[0].Reason != "bound to another key" || g.refusals[0].Host != "db01" {
		t.Errorf("refusals %+v", g.refusals)
	}
}

func TestRekeyAndForget(t *testing.T) {
	g := newGuarded(t)
	old, fresh := newAgent(t, "db01"), newAgent(t, "db01")
	g.expect(t, old.request(t, "db01", "fleet-token", nil), 200, "")
	ctx := context.Background()

	// Rekey: the old key works until a new one comes with a token.
	if _, err := g.ids.Rekey(ctx, "db01"); err != nil {
		t.Fatal(err)
	}
	g.expect(t, old.request(t, "db01", "", nil), 200, "")
	g.expect(t, fresh.request(t, "db01", "", nil), 401, "no token")
	resp := g.expect(t, fresh.request(t, "db01", "fleet-token", nil), 200, "")
	if resp.Key != signing.Fingerprint(fresh.pub) {
		t.Fatalf("after rekey: %+v", resp)
	}
	if b, _ := g.ids.Get("db01"); b.Previous != signing.Fingerprint(old.pub) || !b.RekeyRequested.IsZero() {
		t.Errorf("binding %+v", b)
	}
	g.expect(t, old.request(t, "db01", "fleet-token", nil), 403, "bound to the key")

	// Forget: released at once; the next agent with a token binds.
	if b, err := g.ids.Forget(ctx, "db01"); err != nil || !b.PublicKey().Equal(fresh.pub) {
		t.Fatalf("forget: %+v %v", b, err)
	}
	g.expect(t, fresh.request(t, "db01", "", nil), 401, "no token")
	g.expect(t, (*agentKey)(nil).request(t, "db01", "fleet-token", nil), 401, "older than that")
	if resp := g.expect(t, old.request(t, "db01", "fleet-token", nil), 200, ""); resp.Key != signing.Fingerprint(old.pub) {
		t.Errorf("after forget: %+v", resp)
	}
	if _, err := g.ids.Forget(ctx, "nosuch"); err == nil {
		t.Error("forgot a host that was never bound")
	}
}

func TestTokenLimits(t *testing.T) {
	g := newGuarded(t)
	for _, tt := range []struct {
		host, token string
		code        int
		want        string
	}{
		{"db02", "old-token", 401, `token "old" expired at 2025-01-01T00:00:00Z`},
		{"db02", "web-token", 403, `token "web-only" does not admit host db02 (hosts "web[0-9]+")`},
		{"web07x", "web-token", 403, "does not admit host web07x"}, // the whole name must match
		{"db02", "nosuch-token", 401, "not a token of this server"},
		{"db02", "", 401, "no token"},
		{"db02", "once-token", 200, ""},
		{"db03", "once-token", 401, `token "once" is used up (1 of 1 registrations)`},
	} {
		before := snapshot(t, g.dir)
		g.expect(t, newAgent(t, tt.host).request(t, tt.host, tt.token, nil), tt.code, tt.want)
		if tt.code != 200 {
			sameFiles(t, before, snapshot(t, g.dir))
		}
	}
	// The count survives a restart.
	tokens, err := LoadTokens(filepath.Join(g.dir, "tokens.toml"), filepath.Join(g.state, "token-uses.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Check("once-token", "db04"); err == nil || !strings.Contains(err.Error(), "used up") {
		t.Errorf("after a restart: %v", err)
	}
	// A token's profile is the host's, whatever the rules say (web07
	// would match the web rule anyway; db-web does not).
	g.expect(t, newAgent(t, "web07").request(t, "web07", "web-token", nil), 200, "")
	tokensWeb := tokenTable("web-any", "web-any-token", "profile = \"web\"\n")
	writeFile(t, filepath.Join(g.dir, "tokens.toml"), tokensTOML+"\n"+tokensWeb, 0o600)
	g.guard.Tokens.now = func() time.Time { return time.Now().Add(time.Hour) } // past the once-a-second check
	a := newAgent(t, "dbweb01")
	if resp := g.expect(t, a.request(t, "dbweb01", "web-any-token", nil), 200, ""); resp.Profile != "web" {
		t.Errorf("profile %q, want the token's", resp.Profile)
	}
	// And stays so when the agent registers again without a token.
	if resp := g.expect(t, a.request(t, "dbweb01", "", nil), 200, ""); resp.Profile != "web" {
		t.Errorf("profile %q after re-registration", resp.Profile)
	}
}

// Hosts registered before identities keep registering without a key
// until their agent binds one; new hosts cannot.
func TestLegacyHostsUntilBound(t *testing.T) {
	g := newGuarded(t, "old01")
	g.expect(t, (*agentKey)(nil).request(t, "old01", "fleet-token", nil), 200, "")
	if _, ok := g.ids.Get("old01"); ok || !g.ids.Legacy("old01") {
		t.Fatal("a keyless registration bound the host, or it stopped being legacy")
	}
	g.expect(t, (*agentKey)(nil).request(t, "new01", "fleet-token", nil), 401, "older than that")
	a := newAgent(t, "old01")
	g.expect(t, a.request(t, "old01", "fleet-token", nil), 200, "")
	if g.ids.Legacy("old01") {
		t.Error("still legacy once bound")
	}
	g.expect(t, (*agentKey)(nil).request(t, "old01", "fleet-token", nil), 403, "carries no key")
}

// A registration may declare services only for its own host and the
// hosts its profile's monitored_hosts allows, never for a bound host.
func TestServicesForOtherHosts(t *testing.T) {
	g := newGuarded(t)
	g.expect(t, newAgent(t, "db01").request(t, "db01", "fleet-token", nil), 200, "")
	attacker := newAgent(t, "db07")
	before := snapshot(t, g.dir)
	for _, tt := range []struct {
		host, want string
	}{
		{"db01", "services[0] is for host db01, which is bound to another agent's key"},
		{"ghosthost", "services for host ghosthost refused: profile base allows this agent to report for other hosts by monitored_hosts \"router[0-9]+\""},
		{"router1x", "services for host router1x refused"},
	} {
		g.expect(t, attacker.request(t, "db07", "fleet-token", func(r *Request) {
			r.Services = []Service{{Host: tt.host, Service: "ping", IntervalSeconds: 60}}
		}), 403, tt.want)
	}
	sameFiles(t, before, snapshot(t, g.dir))
	if _, ok := g.a.Registry.Get("db07"); ok {
		t.Error("a refused registration is in the registry")
	}
	g.expect(t, attacker.request(t, "db07", "fleet-token", func(r *Request) {
		r.Services = []Service{{Host: "router1", Service: "ping", IntervalSeconds: 60}, {Service: "own", IntervalSeconds: 60}}
	}), 200, "")
	// A profile without monitored_hosts allows none.
	g.expect(t, newAgent(t, "web09").request(t, "web09", "fleet-token", func(r *Request) {
		r.Services = []Service{{Host: "router1", Service: "ping"}}
	}), 403, "its [profile.web] has no monitored_hosts")
}

func TestNewHostCap(t *testing.T) {
	g := newGuarded(t)
	g.guard.MaxNewHostsPerHour = 2
	for _, h := range []string{"db01", "db02"} {
		g.expect(t, newAgent(t, h).request(t, h, "fleet-token", nil), 200, "")
	}
	before := snapshot(t, g.dir)
	w := g.do(newAgent(t, "db03").request(t, "db03", "fleet-token", nil))
	if w.Code != 429 || !strings.Contains(w.Body.String(), "2 new hosts registered in the last hour") || w.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %s %v", w.Code, w.Body, w.Header())
	}
	sameFiles(t, before, snapshot(t, g.dir))
	// An hour later there is room again.
	g.guard.mu.Lock()
	for i := range g.guard.newHosts {
		g.guard.newHosts[i] = g.guard.newHosts[i].Add(-61 * time.Minute)
	}
	g.guard.mu.Unlock()
	g.expect(t, newAgent(t, "db03").request(t, "db03", "fleet-token", nil), 200, "")
}

func TestGlobalRateLimit(t *testing.T) {
	g := newGuarded(t)
	h := NewHandler(HandlerOptions{Assigner: g.a, Guard: g.guard, Rate: rate.Inf, GlobalRate: rate.Every(time.Hour), GlobalBurst: 2})
	codes := []int{}
	for i := range 4 {
		r := newAgent(t, "db01").request(t, "db01", "nosuch", nil)
		r.RemoteAddr = "192.0.2." + string(rune('1'+i)) + ":1000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		codes = append(codes, w.Code)
	}
	if codes[0] != 401 || codes[1] != 401 || codes[2] != 429 || codes[3] != 429 {
		t.Errorf("codes from four addresses with a global burst of 2: %v", codes)
	}
}

// A second Identities on the same file (the administrator's command while
// the server runs) and the server each see the other's changes.
func TestIdentitiesSharedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "identities.json")
	ctx := context.Background()
	server, err := OpenIdentities(ctx, path, []string{"old01"})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := OpenIdentities(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !admin.Legacy("old01") {
		t.Error("the second opener does not see the legacy hosts")
	}
	pub, _, _ := signing.GenerateKey()
	if _, err := server.Bind(ctx, "web01", pub, "fleet"); err != nil {
		t.Fatal(err)
	}
	admin.now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, ok := admin.Get("web01"); !ok {
		t.Fatal("the admin does not see the server's binding")
	}
	if _, err := admin.Forget(ctx, "web01"); err != nil {
		t.Fatal(err)
	}
	server.now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, ok := server.Get("web01"); ok {
		t.Fatal("the server still sees a forgotten binding")
	}
	// Concurrent changes from both are all kept.
	var wg sync.WaitGroup
	for i := range 20 {
		ids := server
		if i%2 == 1 {
			ids = admin
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, _, _ := signing.GenerateKey()
			if _, err := ids.Bind(ctx, "h"+string(rune('a'+i)), p, "t"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	fresh, err := OpenIdentities(ctx, path, nil)
	if err != nil || len(fresh.List()) != 20 {
		t.Errorf("%d bindings after 20 concurrent binds: %v", len(fresh.List()), err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o022 != 0 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
}
