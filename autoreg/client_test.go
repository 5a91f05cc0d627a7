package autoreg

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	goodToken  = "tok-9f8e7d6c5b4a-good"
	wrongToken = "tok-0a1b2c3d4e5f-wrong"
)

// sleeps records the client's waits instead of waiting; after (when set)
// runs at each wait with the wait's number (from 1), and may cancel.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
	after func(n int)
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	n := len(s.waits)
	s.mu.Unlock()
	if s.after != nil {
		s.after(n)
	}
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// registrar is a TLS test server answering registrations: with answer's
// status (200 when 0) for each request in turn, the last one repeated.
type registrar struct {
	*httptest.Server
	mu      sync.Mutex
	answers []int
	tokens  []string
	bodies  []Request
}

func newRegistrar(t *testing.T, answers ...int) *registrar {
	r := &registrar{answers: answers}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body Request
		json.NewDecoder(req.Body).Decode(&body)
		r.mu.Lock()
		r.tokens = append(r.tokens, req.Header.Get("Authorization"))
		r.bodies = append(r.bodies, body)
		code := 200
		if n := len(r.tokens); len(r.answers) > 0 {
			code = r.answers[min(n, len(r.answers))-1]
		}
		r.mu.Unlock()
		switch {
		case code == 200 && req.Header.Get("Authorization") != "Bearer "+goodToken:
			code = http.StatusUnauthorized
		case code == http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "3")
		}
		if code != 200 {
			answerError(w, code, "test says no")
			return
		}
		json.NewEncoder(w).Encode(Response{Host: "web01", Profile: "base", Status: StatusCreated})
	}))
	t.Cleanup(r.Close)
	return r
}

// answerError answers as the handler does when it refuses.
func answerError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(errorBody{Error: msg})
}

func (r *registrar) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.tokens)
}

func tokenFile(t *testing.T, token string) string {
	return writeFile(t, filepath.Join(t.TempDir(), "register.token"), token+"\n", 0o600)
}

func TestClientRegister(t *testing.T) {
	for _, c := range []struct {
		name     string
		answers  []int
		token    string
		fix      bool // the sleep puts the good token in place, as an admin would
		attempts int
		logged   string
	}{
		{name: "success", token: goodToken, attempts: 1},
		{name: "token refused then fixed on disk", token: wrongToken, fix: true, attempts: 2, logged: "refused (401): test says no"},
		{name: "server errors then success", answers: []int{500, 502, 200}, token: goodToken, attempts: 3, logged: "server error (500): test says no"},
		{name: "no profile then success", answers: []int{403, 200}, token: goodToken, attempts: 2, logged: "refused (403): test says no"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newRegistrar(t, c.answers...)
			tf := tokenFile(t, c.token)
			var logs logBuffer
			s := &sleeps{after: func(int) {
				if c.fix {
					writeFile(t, tf, goodToken+"\n", 0o600)
				}
			}}
			cl := &Client{URL: srv.URL + "/v1/register", TokenFile: tf, HTTP: srv.Client(), Logger: logs.logger(), sleep: s.sleep}
			req := Request{Hostname: "web01", OS: "linux"}
			resp, err := cl.Register(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(resp, Response{Host: "web01", Profile: "base", Status: StatusCreated, ServerPins: resp.ServerPins}) || len(resp.ServerPins) != 1 {
				t.Errorf("response %+v", resp)
			}
			if n := srv.requests(); n != c.attempts {
				t.Errorf("%d attempts, want %d", n, c.attempts)
			}
			if len(s.got()) != c.attempts-1 {
				t.Errorf("%d waits for %d attempts", len(s.got()), c.attempts)
			}
			if srv.bodies[0].Hostname != "web01" {
				t.Errorf("server got %+v", srv.bodies[0])
			}
			if c.logged != "" && !logs.contains(c.logged) {
				t.Errorf("log lacks %q:\n%s", c.logged, logs.String())
			}
			for _, tok := range []string{goodToken, wrongToken} {
				if logs.contains(tok) {
					t.Errorf("the token appears in the log:\n%s", logs.String())
				}
			}
		})
	}
}

func TestClientBackoffIsFibonacciAndCapped(t *testing.T) {
	b := backoff{max: 10 * time.Second}
	var got []time.Duration
	for range 9 {
		got = append(got, b.next())
	}
	want := []time.Duration{1, 1, 2, 3, 5, 8, 10, 10, 10}
	for i := range want {
		want[i] *= time.Second
	}
	if !equalDurations(got, want) {
		t.Fatalf("backoff %v, want %v", got, want)
	}

	// Through Register: each wait lies in the upper half of its step.
	srv := newRegistrar(t, 503)
	s := &sleeps{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.after = func(n int) {
		if n == len(want) {
			cancel()
		}
	}
	cl := &Client{URL: srv.URL, TokenFile: tokenFile(t, goodToken), HTTP: srv.Client(), MaxBackoff: 10 * time.Second,
		Logger: quiet(), sleep: s.sleep}
	_, err := cl.Register(ctx, Request{Hostname: "web01"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled wrapped", err)
	}
	waits := s.got()
	if len(waits) != len(want) {
		t.Fatalf("%d waits, want %d", len(waits), len(want))
	}
	for i, w := range waits {
		if w < want[i]/2 || w > want[i] {
			t.Errorf("wait %d is %v, want within [%v, %v]", i+1, w, want[i]/2, want[i])
		}
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestClientHonoursRetryAfter(t *testing.T) {
	srv := newRegistrar(t, 429, 200)
	s := &sleeps{}
	cl := &Client{URL: srv.URL, TokenFile: tokenFile(t, goodToken), HTTP: srv.Client(), Logger: quiet(), sleep: s.sleep}
	if _, err := cl.Register(context.Background(), Request{Hostname: "web01"}); err != nil {
		t.Fatal(err)
	}
	if w := s.got(); len(w) != 1 || w[0] != 3*time.Second {
		t.Errorf("waits %v, want the server's Retry-After of 3s", w)
	}
}

func TestClientCancel(t *testing.T) {
	for _, c := range []struct {
		name string
		hang bool // the server never answers; else it fails and the client sleeps
	}{
		{name: "while waiting between attempts"},
		{name: "during an attempt", hang: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The client is inside its attempt or about to sleep
				// (the real sleep, at least half a second).
				// Reading the body lets the server notice the client
				// going away.
				io.Copy(io.Discard, r.Body)
				cancel()
				if c.hang {
					<-r.Context().Done()
					return
				}
				answerError(w, 500, "down")
			}))
			defer srv.Close()
			cl := &Client{URL: srv.URL, TokenFile: tokenFile(t, goodToken), HTTP: srv.Client(), Logger: quiet()}
			_, err := cl.Register(ctx, Request{Hostname: "web01"})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled wrapped", err)
			}
		})
	}
}

func TestClientRefusesRedirectToHTTP(t *testing.T) {
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		json.NewEncoder(w).Encode(Response{Host: "evil", Status: StatusCreated})
	}))
	defer plain.Close()
	var tlsHits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tlsHits.Add(1)
		http.Redirect(w, r, plain.URL+"/v1/register", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &sleeps{after: func(n int) {
		if n == 2 {
			cancel()
		}
	}}
	var logs logBuffer
	cl := &Client{URL: srv.URL, TokenFile: tokenFile(t, goodToken), HTTP: srv.Client(), Logger: logs.logger(), sleep: s.sleep}
	_, err := cl.Register(ctx, Request{Hostname: "web01"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the context's error after refused redirects", err)
	}
	if plainHits.Load() != 0 {
		t.Errorf("the http server received %d requests: the token went out in clear", plainHits.Load())
	}
	if tlsHits.Load() != 2 {
		t.Errorf("%d attempts at the https server, want 2", tlsHits.Load())
	}
	if !logs.contains("redirect from https to http refused") {
		t.Errorf("log lacks the reason:\n%s", logs.String())
	}
}

func TestClientLogsFailureReasons(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String() + "/v1/register"
	ln.Close()
	badHost := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(Response{Host: "../etc", Status: StatusCreated})
	}))
	defer badHost.Close()

	for _, c := range []struct {
		name, url, token string
		noTokenFile      bool
		want             string
	}{
		{name: "connection refused", url: closed, token: goodToken, want: "connection refused"},
		{name: "missing token file", url: badHost.URL, noTokenFile: true, want: "token file"},
		{name: "empty token file", url: badHost.URL, token: "", want: "is empty"},
		{name: "two-line token file", url: badHost.URL, token: "a\nb", want: "more than one line"},
		{name: "invalid host assigned", url: badHost.URL, token: goodToken, want: `server assigned an invalid host name \"../etc\"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := &sleeps{after: func(int) { cancel() }}
			tf := tokenFile(t, c.token)
			if c.noTokenFile {
				tf = filepath.Join(t.TempDir(), "none")
			}
			var logs logBuffer
			cl := &Client{URL: c.url, TokenFile: tf, HTTP: badHost.Client(), Logger: logs.logger(), sleep: s.sleep}
			if _, err := cl.Register(ctx, Request{Hostname: "web01"}); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v", err)
			}
			if !logs.contains(c.want) {
				t.Errorf("log lacks %q:\n%s", c.want, logs.String())
			}
		})
	}
}

func TestClientDefaultHTTPNeedsTLS12(t *testing.T) {
	hc, closeIdle := (&Client{}).httpClient()
	defer closeIdle()
	tr, ok := hc.Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil || tr.TLSClientConfig.MinVersion != tls.VersionTLS12 {
		t.Fatalf("default transport %#v does not require TLS 1.2", hc.Transport)
	}
}

func TestAssignmentFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "assignment.json")
	if _, err := LoadAssignment(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	want := Response{Host: "web01", Profile: "base", Status: StatusCreated, Key: "SHA256:x",
		BoundSince: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ServerPins: []string{"pin"}}
	if err := SaveAssignment(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadAssignment(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadAssignment = %+v, %v; want %+v", got, err, want)
	}
	if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	writeFile(t, path, `{"host":"../../etc/passwd"}`, 0o644)
	if _, err := LoadAssignment(path); err == nil {
		t.Error("an assignment with an unsafe host name loaded")
	}
	writeFile(t, path, `{"host":`, 0o644)
	if _, err := LoadAssignment(path); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("corrupt assignment: err = %v", err)
	}
}

func TestValidHost(t *testing.T) {
	for name, want := range map[string]bool{
		"web01": true, "web01.example.com": true, "WEB_01-a": true, "10.0.0.5": true,
		"": false, "../x": false, "a/b": false, `a\b`: false, "a..b": false, "web01.": false,
		".hidden": false, "-x": false, "a b": false, "a;b": false,
		"a123456789012345678901234567890123456789012345678901234567890ab":  true,  // 63
		"a123456789012345678901234567890123456789012345678901234567890abc": false, // 64
	} {
		if got := ValidHost(name); got != want {
			t.Errorf("ValidHost(%q) = %v, want %v", name, got, want)
		}
	}
}
