package icinga2

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestProcessCheckResultSendsEveryField(t *testing.T) {
	f := startFake(t, okAnswer)
	c := f.client(t, nil)
	start := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	err := c.ProcessCheckResult(context.Background(), CheckResult{
		Host: "web01", Service: "disk /", ExitStatus: 1, Output: "DISK WARNING", LongOutput: "line 2\nline 3",
		PerfData: []string{"/=80%;70;90", "'inodes'=5"}, CheckSource: "web01.example.com",
		ExecutionStart: start, ExecutionEnd: start.Add(1500 * time.Millisecond), TTL: 90500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1/actions/process-check-result" || r.Accept != "application/json" ||
		r.User != "picket" || r.Password != "s3cret" {
		t.Fatalf("request %+v", r)
	}
	want := map[string]any{
		"type": "Service", "service": "web01!disk /", "exit_status": 1.0,
		"plugin_output": "DISK WARNING\nline 2\nline 3", "check_source": "web01.example.com",
		"execution_start": 1772366400.123456, "execution_end": 1772366401.623456, "ttl": 90.5,
	}
	for k, v := range want {
		if r.Body[k] != v {
			t.Errorf("%s = %#v, want %#v", k, r.Body[k], v)
		}
	}
	if fmt.Sprint(r.Body["performance_data"]) != "[/=80%;70;90 'inodes'=5]" {
		t.Errorf("performance_data = %v", r.Body["performance_data"])
	}
	if _, ok := r.Body["host"]; ok {
		t.Error("a service result must not carry host")
	}
}

func TestHostResultsMapToUpAndDown(t *testing.T) {
	f := startFake(t, okAnswer)
	c := f.client(t, nil)
	for plugin, want := range map[int]float64{0: 0, 1: 0, 2: 1, 3: 1, 7: 1, -1: 1} {
		if err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", ExitStatus: plugin, Output: "x"}); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		b := reqs[len(reqs)-1].Body
		if b["type"] != "Host" || b["host"] != "h" || b["exit_status"] != want || b["service"] != nil {
			t.Errorf("plugin exit %d sent as %v", plugin, b)
		}
		if _, ok := b["execution_start"]; ok {
			t.Errorf("zero times must be left to Icinga: %v", b)
		}
	}
	// A service keeps 0..3; what a plugin cannot mean is UNKNOWN.
	for plugin, want := range map[int]float64{0: 0, 3: 3, 4: 3, -2: 3} {
		c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Service: "s", ExitStatus: plugin, Output: "x"})
		reqs := f.requests()
		if got := reqs[len(reqs)-1].Body["exit_status"]; got != want {
			t.Errorf("service exit %d sent as %v", plugin, got)
		}
	}
}

func TestInvalidResultsAreNotSent(t *testing.T) {
	f := startFake(t, okAnswer)
	c := f.client(t, nil)
	for _, r := range []CheckResult{
		{Service: "s"},
		{Host: "a!b", Service: "s"},
		{Host: "h", ExecutionStart: time.Unix(-5, 0)},
	} {
		if err := c.ProcessCheckResult(context.Background(), r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", r, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("%d requests sent for invalid results", n)
	}
}

// A reply of each kind reaches the caller as its kind, through a real TLS
// server; the table of replies is in reply_test.go.
func TestRepliesThroughHTTP(t *testing.T) {
	answers := map[string]struct {
		code int
		body string
		kind error
	}{
		"401": {401, `{"error":401,"status":"Unauthorized. Please check your user credentials."}`, ErrUnauthorized},
		"404": {404, `{"error":404,"status":"No objects found."}`, ErrUnknownObject},
		"400": {200, `{"results":[{"code":400,"status":"Invalid 'exit_status' for Host h."}]}`, ErrBadRequest},
		"500": {500, `{"results":[{"code":500,"status":"Action execution failed"}]}`, ErrServer},
		"unr": {200, `{"results":[{"code":200,"status":"Ignoring passive check result for unreachable object 'h!unr'."}]}`, ErrUnreachable},
	}
	f := startFake(t, func(req request) (int, string) {
		a := answers[strings.TrimPrefix(objectOf(req), "h!")]
		return a.code, a.body
	})
	c := f.client(t, nil)
	for svc, a := range answers {
		err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Service: svc, Output: "x"})
		var re *ReplyError
		if !errors.Is(err, a.kind) || !errors.As(err, &re) || re.Service != svc {
			t.Errorf("%s: got %v, want %v for h!%s", svc, err, a.kind, svc)
		}
	}
}

func TestOlderThanDeliveredIsNotSent(t *testing.T) {
	f := startFake(t, okAnswer)
	c := f.client(t, nil)
	t0 := time.Now()
	send := func(at time.Time) error {
		return c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Service: "s", Output: "x", ExecutionStart: at})
	}
	if err := send(t0); err != nil {
		t.Fatal(err)
	}
	if err := send(t0.Add(-time.Second)); !errors.Is(err, ErrOutdated) {
		t.Fatalf("older result: %v, want ErrOutdated", err)
	}
	if err := send(t0); err != nil {
		t.Fatalf("equal start (Icinga applies it): %v", err)
	}
	if n := len(f.requests()); n != 2 {
		t.Fatalf("%d requests, want 2: the older one must not be sent", n)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	f := startFake(t, okAnswer)
	otherCA, _ := testCA(t, "x")
	c := f.client(t, func(cfg *Config) { cfg.RootCAs = otherCA })
	err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Output: "x"})
	var te *TLSError
	if !errors.Is(err, ErrUntrustedCertificate) || !errors.Is(err, ErrTLS) || !errors.As(err, &te) || Retryable(err) {
		t.Fatalf("got %v, want an untrusted-certificate TLSError", err)
	}
	if !strings.Contains(err.Error(), "the CA pool given") {
		t.Fatalf("message does not say what was trusted: %v", err)
	}
}

func TestCertificateNameMismatchNamesServerName(t *testing.T) {
	f := startFake(t, okAnswer)
	c := f.client(t, func(cfg *Config) { cfg.ServerName = "icinga.wrong.test" })
	err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Output: "x"})
	if !errors.Is(err, ErrCertificateName) || !strings.Contains(err.Error(), `"icinga.wrong.test"`) ||
		!strings.Contains(err.Error(), "example.com") || !strings.Contains(err.Error(), "server_name") {
		t.Fatalf("got %v, want a name mismatch naming the server_name and the certificate's names", err)
	}
	// The right name, given as server_name, passes.
	c = f.client(t, func(cfg *Config) { cfg.ServerName = "example.com" })
	if err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Output: "x"}); err != nil {
		t.Fatal(err)
	}
}

func TestClientCertificate(t *testing.T) {
	pool, cert := testCA(t, "picket-agent")
	f := &fakeAPI{answer: okAnswer}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = quietLog
	f.srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	f.srv.StartTLS()
	defer f.srv.Close()
	c := f.client(t, func(cfg *Config) { cfg.User, cfg.Password, cfg.Certificate = "", "", &cert })
	if err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Output: "x"}); err != nil {
		t.Fatal(err)
	}
	if r := f.requests()[0]; r.ClientCN != "picket-agent" || r.User != "" {
		t.Fatalf("server saw %+v", r)
	}
	// Without a certificate, or with one of another CA, the server refuses
	// the handshake.
	_, stranger := testCA(t, "picket-agent")
	for name, cert := range map[string]*tls.Certificate{"no certificate": nil, "another CA": &stranger} {
		c = f.client(t, func(cfg *Config) { cfg.Certificate = cert })
		err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Output: "x"})
		if !errors.Is(err, ErrTLS) || Retryable(err) || !strings.Contains(err.Error(), "refused the handshake") {
			t.Errorf("%s: %v, want ErrTLS saying the server refused the handshake", name, err)
		}
	}
}

func TestNotTLS(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c, err := New(Config{URL: strings.Replace(srv.URL, "http:", "https:", 1), User: "u"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Output: "x"})
	if !errors.Is(err, ErrTLS) || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Fatalf("got %v", err)
	}
}

func TestClosedPortIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New(Config{URL: "https://" + addr, User: "u"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Output: "x"})
	if !errors.Is(err, ErrUnavailable) || !Retryable(err) {
		t.Fatalf("got %v, want retryable ErrUnavailable", err)
	}
}

func TestKeepAliveAndConcurrencyBound(t *testing.T) {
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	f := startFake(t, func(req request) (int, string) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if n == 3 {
			once.Do(func() { close(release) }) // the bound is reached: let everyone go on
		}
		<-release
		inFlight.Add(-1)
		return okAnswer(req)
	})
	c := f.client(t, func(cfg *Config) { cfg.MaxConcurrency = 3 })
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			r := CheckResult{Host: "h", Service: fmt.Sprint("s", i), Output: "x"}
			if err := c.ProcessCheckResult(context.Background(), r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m != 3 {
		t.Errorf("at most %d requests in flight, want 3", m)
	}
	if n := f.connections(); n > 3 {
		t.Errorf("%d connections for 60 requests at concurrency 3: not kept alive", n)
	}
}

func TestCancelWhileWaitingForASlot(t *testing.T) {
	block := make(chan struct{})
	f := startFake(t, func(req request) (int, string) { <-block; return okAnswer(req) })
	c := f.client(t, func(cfg *Config) { cfg.MaxConcurrency = 1 })
	busy := make(chan error)
	go func() {
		busy <- c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Service: "busy", Output: "x"})
	}()
	for len(f.requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.ProcessCheckResult(ctx, CheckResult{Host: "h", Service: "waiting", Output: "x"})
	if !errors.Is(err, context.Canceled) || len(f.requests()) != 1 {
		t.Fatalf("got %v after %d requests", err, len(f.requests()))
	}
	close(block)
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	block := make(chan struct{})
	f := startFake(t, func(req request) (int, string) { <-block; return okAnswer(req) })
	defer close(block)
	c := f.client(t, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })
	err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "h", Output: "x"})
	if !errors.Is(err, ErrUnavailable) || !Retryable(err) {
		t.Fatalf("got %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "http://icinga:5665", User: "u"},
		{URL: "https://", User: "u"},
		{URL: "https://u:pw@icinga:5665", User: "u"},
		{URL: "https://icinga:5665/?x=1", User: "u"},
		{URL: "https://icinga:5665"},
		{URL: "https://icinga:5665", User: "u", CAFile: "/nonexistent/ca.crt"},
		{URL: "https://icinga:5665", CertFile: "/nonexistent/c.crt", KeyFile: "/nonexistent/c.key"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("message shows the password: %v", err)
		}
	}
}

func TestPutObjects(t *testing.T) {
	seen := map[string]bool{}
	var mu sync.Mutex
	f := startFake(t, func(req request) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if seen[req.Path] {
			return 500, `{"results":[{"code":500,"errors":["Object already exists."],"status":"Object could not be created."}]}`
		}
		seen[req.Path] = true
		return 200, `{"results":[{"code":200,"status":"Object was created"}]}`
	})
	c := f.client(t, nil)
	ctx := context.Background()
	attrs := map[string]any{"vars": map[string]any{"os": "linux"}}
	for i, want := range []bool{false, true} {
		existed, err := c.PutHost(ctx, "web 01", []string{"picket-host"}, attrs)
		if err != nil || existed != want {
			t.Fatalf("PutHost #%d: existed=%v err=%v", i, existed, err)
		}
		existed, err = c.PutService(ctx, "web 01", "disk/root", []string{"picket-service"}, nil)
		if err != nil || existed != want {
			t.Fatalf("PutService #%d: existed=%v err=%v", i, existed, err)
		}
	}
	reqs := f.requests()
	if reqs[0].Method != "PUT" || reqs[0].Path != "/v1/objects/hosts/web%2001" ||
		fmt.Sprint(reqs[0].Body) != "map[attrs:map[vars:map[os:linux]] templates:[picket-host]]" {
		t.Errorf("host request %+v", reqs[0])
	}
	if reqs[1].Path != "/v1/objects/services/web%2001!disk%2Froot" {
		t.Errorf("service path %s", reqs[1].Path)
	}
	if _, err := c.PutService(ctx, "", "x", nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("service without host: %v", err)
	}
}
