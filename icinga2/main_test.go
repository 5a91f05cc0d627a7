package icinga2

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/icingatest"
	"github.com/picket-monitoring/picket/internal/leaktest"
)

// Bounds for polling the real Icinga: deadlines for what normally takes
// milliseconds (or a ttl), never assertions about speed.
const (
	pollEvery    = 10 * time.Millisecond
	pollDeadline = 30 * time.Second
)

// sharedObjects are defined in the shared instance's configuration: gw is
// the parent of behind (and of its service) through dependencies that
// disable checks, so results for them are ignored while gw is DOWN.
const sharedObjects = `
object Host "gw" { import "picket-host" }
object Host "behind" { import "picket-host" }
object Service "svc" { import "picket-service"; host_name = "behind" }
object Dependency "gw-behind" { parent_host_name = "gw"; child_host_name = "behind"; disable_checks = true }
object Dependency "gw-behind-svc" {
  parent_host_name = "gw"; child_host_name = "behind"; child_service_name = "svc"; disable_checks = true
}
`

// shared is one icinga2 for the tests that do not stop it: started by the
// first test that needs it, stopped by TestMain.
var shared struct {
	once sync.Once
	in   *icingatest.Instance
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.in != nil {
		if err := shared.in.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop icinga2:", err)
			code = 1
		}
	}
	if code == 0 {
		if g := leaktest.Find("github.com/picket-monitoring/picket/icinga2", 5*time.Second); g != "" {
			fmt.Fprintln(os.Stderr, "leaked goroutine:\n"+g)
			code = 1
		}
	}
	os.Exit(code)
}

// icinga returns the shared instance; without icinga2 the test fails with
// the Debian package to install.
func icinga(t *testing.T) *icingatest.Instance {
	t.Helper()
	needIcinga(t)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared.in, shared.err = icingatest.Start(ctx, icingatest.Options{Objects: sharedObjects})
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.in
}

func needIcinga(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Debian's icinga2; not run with -short")
	}
}

// clientFor is a Client of in as its password user, verifying its CA and
// node name.
func clientFor(t *testing.T, in *icingatest.Instance, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{URL: in.URL, User: in.User, Password: in.Password, CAFile: in.CAFile,
		ServerName: in.ServerName, MaxConcurrency: 4}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// register creates host and its services from the harness templates.
func register(t *testing.T, c *Client, tmpl, host string, services ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.PutHost(ctx, host, []string{icingatest.HostTemplate}, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		if _, err := c.PutService(ctx, host, s, []string{tmpl}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// stored polls until host!svc's stored result satisfies ok, and returns it.
func stored(t *testing.T, in *icingatest.Instance, host, svc string, ok func(*icingatest.Result) bool) icingatest.Object {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for {
		var o icingatest.Object
		var err error
		if svc == "" {
			o, err = in.Host(context.Background(), host)
		} else {
			o, err = in.Service(context.Background(), host, svc)
		}
		if err != nil {
			t.Fatal(err)
		}
		if o.Result != nil && ok(o.Result) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: stored result %+v never became what the test waits for", object(host, svc), o.Result)
		}
		time.Sleep(pollEvery)
	}
}

// past returns a time d before now, to the microsecond (what Icinga keeps).
func past(d time.Duration) time.Time { return time.Now().Add(-d).Truncate(time.Microsecond) }
