package autoreg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/picket-monitoring/picket/internal/tomlfile"
)

const testProfiles = `
[[rule]]
profile = "web"
name = "^web"

[[rule]]
profile = "broken"
name = "^broken"

[[rule]]
profile = "base"
os = "linux"
`

const webTemplate = `[[check]]
service = "http"
command = "check_http -H {{.Address}}"
interval = "1m"
`

// brokenTemplate renders a file the externals parser refuses.
const brokenTemplate = `[[check]]
service = "x"
colour = "blue"
`

// server is the registration endpoint over temporary files, with a
// Validate that parses rendered files strictly, as the hub's does.
type server struct {
	dir, externals string
	a              *Assigner
	h              http.Handler
	logs           *logBuffer

	mu         sync.Mutex
	registered []Entry
}

type externalsFile struct {
	Check []struct {
		Service  string `toml:"service"`
		Command  string `toml:"command"`
		Interval string `toml:"interval"`
	} `toml:"check"`
}

func newServer(t testing.TB, o HandlerOptions) *server {
	t.Helper()
	return newServerWith(t, testProfiles, o)
}

func newServerWith(t testing.TB, profilesTOML string, o HandlerOptions) *server {
	t.Helper()
	path := profileDir(t, profilesTOML, map[string]string{
		"base.toml": baseTemplate, "web.toml": webTemplate, "broken.toml": brokenTemplate,
	})
	dir := filepath.Dir(path)
	s := &server{dir: dir, externals: filepath.Join(dir, "externals"), logs: &logBuffer{}}
	if err := os.Mkdir(s.externals, 0o755); err != nil {
		t.Fatal(err)
	}
	profiles, err := LoadProfiles(path)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := OpenRegistry(filepath.Join(dir, "registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := LoadTokens(writeFile(t, filepath.Join(dir, "tokens"), goodToken+"\n", 0o600), "")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s.a = &Assigner{
		Profiles: profiles, Registry: reg, ExternalsDir: s.externals, Logger: s.logs.logger(),
		Now: func() time.Time { return clock },
		Validate: func(host string, data []byte) error {
			return tomlfile.Decode(host+".toml", data, &externalsFile{})
		},
	}
	o.Assigner, o.Logger = s.a, s.logs.logger()
	if o.Guard == nil {
		o.Guard = &Guard{}
	}
	o.Guard.Tokens = tokens
	if o.Rate == 0 {
		o.Rate = rate.Inf
	}
	if o.GlobalRate == 0 {
		o.GlobalRate = rate.Inf
	}
	o.Registered = func(e Entry) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.registered = append(s.registered, e)
	}
	s.h = NewHandler(o)
	return s
}

// post sends body from remote with the given Authorization header.
func (s *server) post(body, auth, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/register", strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if remote != "" {
		r.RemoteAddr = remote
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

func (s *server) register(t testing.TB, req Request) Response {
	t.Helper()
	body, _ := json.Marshal(req)
	w := s.post(string(body), "Bearer "+goodToken, "")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s\nlog:\n%s", w.Code, w.Body, s.logs)
	}
	var resp Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func (s *server) file(host string) string { return filepath.Join(s.externals, host+".toml") }

func reqJSON(host string) string {
	b, _ := json.Marshal(Request{Hostname: host, OS: "linux", Addresses: []string{"10.0.0.5"}})
	return string(b)
}

func TestHandlerAuth(t *testing.T) {
	s := newServer(t, HandlerOptions{})
	for _, c := range []struct{ name, auth string }{
		{"missing header", ""},
		{"wrong token", "Bearer " + wrongToken},
		{"empty token", "Bearer "},
		{"other scheme", "Basic " + goodToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := s.post(reqJSON("web01"), c.auth, "")
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", w.Code)
			}
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
	if _, err := os.Stat(s.file("web01")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused registration wrote a file")
	}
	if s.logs.contains(goodToken) || s.logs.contains(wrongToken) {
		t.Errorf("a token appears in the log:\n%s", s.logs)
	}
	if !s.logs.contains("token refused") {
		t.Errorf("log lacks the reason:\n%s", s.logs)
	}
}

func TestHandlerRequests(t *testing.T) {
	big := `{"hostname":"web01","metadata":["` + strings.Repeat("x", 2000) + `"]}`
	for _, c := range []struct {
		name    string
		method  string
		body    string
		chunked bool // no Content-Length: the limit must hold while reading
		maxBody int64
		code    int
		msg     string // in the answer's error
		noFile  string // host whose file must not exist
	}{
		{name: "GET", method: http.MethodGet, code: http.StatusMethodNotAllowed},
		{name: "oversized body", body: big, maxBody: 1000, code: http.StatusRequestEntityTooLarge},
		{name: "oversized chunked body", body: big, chunked: true, maxBody: 1000, code: http.StatusRequestEntityTooLarge},
		{name: "bad JSON", body: `{"hostname":`, code: http.StatusBadRequest, msg: "bad JSON"},
		{name: "data after the object", body: reqJSON("web01") + `{}`, code: http.StatusBadRequest, msg: "bad JSON"},
		{name: "wrong JSON type", body: `{"hostname":5}`, code: http.StatusBadRequest, msg: "bad JSON"},
		{name: "path in name", body: `{"hostname":"../x","os":"linux"}`, code: http.StatusBadRequest, msg: `hostname "../x" is not a valid host name`},
		{name: "slash in name", body: `{"hostname":"a/b","os":"linux"}`, code: http.StatusBadRequest, msg: "hostname"},
		{name: "empty name", body: `{"os":"linux"}`, code: http.StatusBadRequest, msg: "hostname is empty"},
		{name: "bad service", body: `{"hostname":"db01","os":"linux","services":[{"service":"a;b"}]}`, code: http.StatusBadRequest, msg: "services[0].service", noFile: "db01"},
		{name: "no profile", body: `{"hostname":"mail01","os":"windows"}`, code: http.StatusForbidden, msg: "no profile matches", noFile: "mail01"},
		{name: "template renders invalid externals", body: reqJSON("broken01"), code: http.StatusInternalServerError, msg: "registration failed on the server", noFile: "broken01"},
		{name: "success", body: reqJSON("db01"), code: http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, HandlerOptions{MaxBody: c.maxBody})
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, "/v1/register", strings.NewReader(c.body))
			if c.chunked {
				r.ContentLength = -1
			}
			r.Header.Set("Authorization", "Bearer "+goodToken)
			w := httptest.NewRecorder()
			s.h.ServeHTTP(w, r)
			if w.Code != c.code {
				t.Fatalf("status %d, want %d: %s\nlog:\n%s", w.Code, c.code, w.Body, s.logs)
			}
			var e errorBody
			json.Unmarshal(w.Body.Bytes(), &e)
			if !strings.Contains(e.Error, c.msg) {
				t.Errorf("answer %q lacks %q", w.Body, c.msg)
			}
			if c.code == http.StatusMethodNotAllowed && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow: %q", w.Header().Get("Allow"))
			}
			if c.code == http.StatusInternalServerError {
				// No internals (paths, template text) go to the agent,
				// but the log has the reason.
				if strings.Contains(w.Body.String(), s.dir) || strings.Contains(w.Body.String(), "colour") {
					t.Errorf("the answer leaks internals: %s", w.Body)
				}
				if !s.logs.contains("colour") {
					t.Errorf("the log lacks the reason:\n%s", s.logs)
				}
			}
			if c.noFile != "" {
				if _, err := os.Stat(s.file(c.noFile)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s was written", s.file(c.noFile))
				}
				if c.code != http.StatusBadRequest {
					// The registry keeps the attempt, for the admin.
					if e, ok := s.a.Registry.Get(c.noFile); !ok || e.LastError == "" {
						t.Errorf("registry entry %+v, %v: want the failure recorded", e, ok)
					}
				}
			}
			if entries, _ := os.ReadDir(s.dir); len(entries) > 0 {
				for _, e := range entries {
					if strings.Contains(e.Name(), "..") || e.Name() == "x.toml" {
						t.Errorf("file outside the externals folder: %s", e.Name())
					}
				}
			}
		})
	}
}

func TestRegistrationIsIdempotent(t *testing.T) {
	s := newServer(t, HandlerOptions{})
	first := s.register(t, Request{Hostname: "Web01.example.com", OS: "linux", Addresses: []string{"10.0.0.5"}})
	if !reflect.DeepEqual(first, Response{Host: "web01", Profile: "web", Status: StatusCreated}) {
		t.Fatalf("first registration: %+v", first)
	}
	want := strings.ReplaceAll(webTemplate, "{{.Address}}", "10.0.0.5")
	if got := readFile(t, s.file("web01")); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	second := s.register(t, Request{Hostname: "web01", OS: "linux", Addresses: []string{"10.0.0.5"}, AgentVersion: "2"})
	if !reflect.DeepEqual(second, Response{Host: "web01", Profile: "web", Status: StatusUnchanged}) {
		t.Errorf("second registration: %+v", second)
	}
	e, ok := s.a.Registry.Get("web01")
	if !ok || e.Profile != "web" || e.Facts.AgentVersion != "2" || e.RenderedSHA256 != digest([]byte(want)) || e.LastError != "" {
		t.Errorf("registry entry %+v", e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.registered) != 2 || s.registered[1].Host != "web01" || s.registered[1].Facts.AgentVersion != "2" {
		t.Errorf("Registered hook got %+v", s.registered)
	}
}

func TestAdminEditsAreKept(t *testing.T) {
	s := newServer(t, HandlerOptions{})
	ctx := context.Background()
	req := Request{Hostname: "db01", OS: "linux", Addresses: []string{"10.0.0.7"}}
	if r := s.register(t, req); r.Status != StatusCreated {
		t.Fatalf("status %s", r.Status)
	}
	rendered := readFile(t, s.file("db01"))
	edited := rendered + "\n# tuned by hand\n"
	writeFile(t, s.file("db01"), edited, 0o644)

	r := s.register(t, req)
	if r.Status != StatusKept || r.Profile != "base" || r.Message == "" {
		t.Errorf("registration after an edit: %+v", r)
	}
	if readFile(t, s.file("db01")) != edited {
		t.Fatal("the administrator's edit was overwritten")
	}
	if !s.logs.contains("edited by an administrator") {
		t.Errorf("the log does not say the file was kept:\n%s", s.logs)
	}
	if r, err := s.a.Render(ctx, "db01", false); err != nil || r.Status != StatusKept {
		t.Errorf("Render without force: %+v, %v", r, err)
	}
	r, err := s.a.Render(ctx, "db01", true)
	if err != nil || r.Status != StatusUpdated {
		t.Fatalf("Render with force: %+v, %v", r, err)
	}
	if readFile(t, s.file("db01")) != rendered {
		t.Error("Render with force did not restore the profile's file")
	}
	if r := s.register(t, req); r.Status != StatusUnchanged {
		t.Errorf("registration after the forced render: %s", r.Status)
	}

	// A file the server never wrote is the administrator's too.
	writeFile(t, s.file("db02"), "# by hand\n", 0o644)
	if r := s.register(t, Request{Hostname: "db02", OS: "linux"}); r.Status != StatusKept {
		t.Errorf("a hand-made file: status %s", r.Status)
	}
	// Unless it is exactly what the profile renders: then it is adopted.
	data, err := s.a.Profiles.Render("base", "db03", Request{OS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.file("db03"), string(data), 0o644)
	if r := s.register(t, Request{Hostname: "db03", OS: "linux"}); r.Status != StatusUnchanged {
		t.Errorf("a file identical to the profile's: status %s", r.Status)
	}
	if e, _ := s.a.Registry.Get("db03"); e.RenderedSHA256 != digest(data) {
		t.Error("an identical file was not adopted")
	}
}

func TestProfileChangeUpdatesFile(t *testing.T) {
	s := newServer(t, HandlerOptions{})
	req := Request{Hostname: "db01", OS: "linux", Addresses: []string{"10.0.0.7"}}
	s.register(t, req)

	// The admin changes the base template and reloads the profiles.
	writeFile(t, filepath.Join(s.dir, "base.toml"), baseTemplate+"# v2\n", 0o644)
	p, err := LoadProfiles(filepath.Join(s.dir, "profiles.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s.a.SetProfiles(p)
	if r := s.register(t, req); r.Status != StatusUpdated {
		t.Fatalf("status %s after a template change", r.Status)
	}
	if !strings.HasSuffix(readFile(t, s.file("db01")), "# v2\n") {
		t.Error("the file does not have the new template's content")
	}

	// Rules change so the host belongs to another profile: Render
	// moves it from its recorded facts.
	writeFile(t, filepath.Join(s.dir, "profiles.toml"), "default = \"web\"\n", 0o644)
	if s.a.Profiles, err = LoadProfiles(filepath.Join(s.dir, "profiles.toml")); err != nil {
		t.Fatal(err)
	}
	r, err := s.a.Render(context.Background(), "db01", false)
	if err != nil || r.Status != StatusUpdated || r.Profile != "web" {
		t.Fatalf("Render after a rule change: %+v, %v", r, err)
	}
	if e, _ := s.a.Registry.Get("db01"); e.Profile != "web" {
		t.Errorf("registry still says profile %q", e.Profile)
	}
	if _, err := s.a.Render(context.Background(), "nosuch", false); !errors.Is(err, ErrUnknownHost) {
		t.Errorf("Render of an unregistered host: err = %v", err)
	}
}

func TestAssignerNames(t *testing.T) {
	for _, c := range []struct {
		fqdn           bool
		hostname, full string
		want           string // "" for ErrBadRequest
		field          string
	}{
		{hostname: "WEB01", want: "web01"},
		{hostname: "Web01.Example.COM", want: "web01"},
		{hostname: "web01.", want: "web01"},
		{hostname: "10.0.0.5", want: "10.0.0.5"},
		{fqdn: true, hostname: "web01", full: "Web01.Example.com.", want: "web01.example.com"},
		{fqdn: true, hostname: "web01.example.com", want: "web01.example.com"},
		{fqdn: true, hostname: "web01", field: "fqdn"},
		{fqdn: true, hostname: "web01", full: "web01.exa mple.com", field: "fqdn"},
		{hostname: "../x", field: "hostname"},
		{hostname: "a/b", field: "hostname"},
		{hostname: "", field: "hostname"},
		{hostname: strings.Repeat("a", 64), field: "hostname"},
	} {
		a := &Assigner{FQDN: c.fqdn}
		got, err := a.hostName(Request{Hostname: c.hostname, FQDN: c.full})
		if c.want != "" {
			if err != nil || got != c.want {
				t.Errorf("fqdn=%v hostName(%q, %q) = %q, %v; want %q", c.fqdn, c.hostname, c.full, got, err, c.want)
			}
			continue
		}
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("fqdn=%v hostName(%q, %q) = %q, %v; want ErrBadRequest naming %s", c.fqdn, c.hostname, c.full, got, err, c.field)
		}
	}
}

func TestHandlerRateLimit(t *testing.T) {
	s := newServer(t, HandlerOptions{Rate: rate.Every(time.Hour), Burst: 2})
	h := s.h.(*handler)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }

	// The limit comes before the token: guessing costs the guesser.
	for i, auth := range []string{"Bearer " + goodToken, "Bearer " + wrongToken} {
		if w := s.post(reqJSON("db01"), auth, "192.0.2.1:4000"); w.Code == http.StatusTooManyRequests {
			t.Fatalf("request %d limited within the burst", i+1)
		}
	}
	w := s.post(reqJSON("db01"), "Bearer "+goodToken, "192.0.2.1:4001")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429", w.Code)
	}
	if ra := w.Header().Get("Retry-After"); ra != "3600" {
		t.Errorf("Retry-After %q, want 3600", ra)
	}
	if w := s.post(reqJSON("db02"), "Bearer "+goodToken, "192.0.2.2:4000"); w.Code != http.StatusOK {
		t.Errorf("another address: status %d", w.Code)
	}

	// Idle limiters are pruned once they would be full again.
	now = now.Add(3 * time.Hour)
	if w := s.post(reqJSON("db02"), "Bearer "+goodToken, "192.0.2.3:4000"); w.Code != http.StatusOK {
		t.Errorf("status %d", w.Code)
	}
	h.mu.Lock()
	n := len(h.limiters)
	h.mu.Unlock()
	if n != 1 {
		t.Errorf("%d limiters kept, want only the active one", n)
	}
}

func TestClientAgainstHandler(t *testing.T) {
	s := newServer(t, HandlerOptions{Rate: 1, Burst: 5})
	srv := httptest.NewTLSServer(s.h)
	defer srv.Close()
	cl := &Client{URL: srv.URL + "/v1/register", TokenFile: tokenFile(t, goodToken), HTTP: srv.Client(), Logger: quiet()}
	req := Facts(context.Background(), FactOptions{Hostname: "web07", Metadata: []string{"web"}})
	resp, err := cl.Register(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Host != "web07" || resp.Profile != "web" || resp.Status != StatusCreated {
		t.Errorf("response %+v", resp)
	}
	if e, ok := s.a.Registry.Get("web07"); !ok || e.Remote != "127.0.0.1" || e.Facts.OS != req.OS {
		t.Errorf("registry entry %+v", e)
	}
}

func TestNameCollisionIsLogged(t *testing.T) {
	s := newServer(t, HandlerOptions{})
	s.register(t, Request{Hostname: "db01", OS: "linux", MACs: []string{"52:54:00:00:00:01"}})
	s.register(t, Request{Hostname: "db01", OS: "linux", MACs: []string{"52:54:00:00:00:01", "52:54:00:00:00:09"}})
	if s.logs.contains("another machine with the same name") {
		t.Fatalf("warned about a machine that kept one of its MACs:\n%s", s.logs)
	}
	s.register(t, Request{Hostname: "db01", OS: "linux", MACs: []string{"52:54:00:00:00:02"}})
	if !s.logs.contains("another machine with the same name") {
		t.Errorf("no warning when the MACs changed entirely:\n%s", s.logs)
	}
}

func TestSetProfilesWhileRegistering(t *testing.T) {
	s := newServer(t, HandlerOptions{})
	p := s.a.Profiles
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 10 {
				body, _ := json.Marshal(Request{Hostname: fmt.Sprintf("db%d-%d", i, j), OS: "linux"})
				if w := s.post(string(body), "Bearer "+goodToken, ""); w.Code != http.StatusOK {
					t.Errorf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
	for range 20 {
		s.a.SetProfiles(p)
	}
	wg.Wait()
}
