package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/picket-monitoring/picket/internal/leaktest"
)

// TestMain fails the run if a test left a goroutine of this package
// behind: a stopped endpoint must leave nothing running.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if g := leaktest.Find("github.com/picket-monitoring/picket/internal/metrics", 5*time.Second); g != "" {
			os.Stderr.WriteString("leaked goroutine:\n" + g + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestEndpointServesMetricsOnly(t *testing.T) {
	reg := NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "picket_test_value", Help: "A value."})
	g.Set(42)
	reg.MustRegister(g)
	e, err := Start(t.Context(), "127.0.0.1:0", reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	base := "http://" + e.Addr().String()

	code, body := get(t, http.MethodGet, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	for _, want := range []string{"picket_test_value 42\n", "go_goroutines ", "process_"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodGet, "/metrics/", http.StatusNotFound},
		{http.MethodGet, "/debug/pprof/", http.StatusNotFound},
		{http.MethodPost, "/metrics", http.StatusMethodNotAllowed},
		{http.MethodHead, "/metrics", http.StatusOK},
	} {
		if code, _ := get(t, tc.method, base+tc.path); code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, code, tc.code)
		}
	}
}

func TestEndpointAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e, err := Start(t.Context(), ln.Addr().String(), NewRegistry(), slog.New(slog.DiscardHandler))
	if err == nil {
		e.Stop()
		t.Fatal("Start on an address in use succeeded")
	}
	if !strings.Contains(err.Error(), "metrics: listen on "+ln.Addr().String()) {
		t.Errorf("error does not say what failed: %v", err)
	}
	e.Stop() // nil: harmless
}

func TestEndpointEndsWithItsContext(t *testing.T) {
	for _, how := range []string{"context", "stop"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			e, err := Start(ctx, "127.0.0.1:0", NewRegistry(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if how == "context" {
				cancel()
				<-e.done
			} else {
				e.Stop()
			}
			if c, err := net.Dial("tcp", e.Addr().String()); err == nil {
				c.Close()
				t.Errorf("still listening on %s after the endpoint ended", e.Addr())
			}
			e.Stop() // twice: harmless
		})
	}
}
