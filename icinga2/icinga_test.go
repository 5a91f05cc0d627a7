package icinga2

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/icingatest"
)

// Integration tests against Debian's real icinga2 (internal/icingatest).

func TestIcingaStoresTheRealCheck(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, nil)
	register(t, c, icingatest.ServiceTemplate, "real01", "disk")
	start := past(90 * time.Second)
	r := CheckResult{Host: "real01", Service: "disk", ExitStatus: 1, Output: "DISK WARNING - 81% used",
		LongOutput: "/ 81%\n/var 40%", PerfData: []string{"/=81%;80;90;0;100", "'/var'=40%;80;90"},
		CheckSource: "real01.example.com", ExecutionStart: start, ExecutionEnd: start.Add(1234567 * time.Microsecond),
		TTL: 10 * time.Minute}
	if err := c.ProcessCheckResult(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	o, err := in.Service(context.Background(), "real01", "disk")
	if err != nil {
		t.Fatal(err)
	}
	got := o.Result
	if got == nil || got.State != 1 || o.State != 1 || got.Output != r.Output+"\n"+r.LongOutput ||
		!slices.Equal(got.PerfData, r.PerfData) || got.CheckSource != r.CheckSource || got.TTL != r.TTL || got.Active {
		t.Fatalf("stored %+v (state %d)", got, o.State)
	}
	if !got.ExecutionStart.Equal(r.ExecutionStart) || !got.ExecutionEnd.Equal(r.ExecutionEnd) {
		t.Fatalf("stored execution %v..%v, sent %v..%v", got.ExecutionStart, got.ExecutionEnd, r.ExecutionStart, r.ExecutionEnd)
	}
	if !slices.Contains(o.Templates, icingatest.ServiceTemplate) {
		t.Fatalf("service templates %v", o.Templates)
	}
}

func TestIcingaHostResults(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, nil)
	register(t, c, icingatest.ServiceTemplate, "host01")
	for i, tc := range []struct{ plugin, hostState int }{{2, 1}, {1, 0}, {3, 1}, {0, 0}} {
		r := CheckResult{Host: "host01", ExitStatus: tc.plugin, Output: "PING", ExecutionStart: past(time.Duration(10-i) * time.Second)}
		if err := c.ProcessCheckResult(context.Background(), r); err != nil {
			t.Fatalf("plugin exit %d: %v", tc.plugin, err)
		}
		o, err := in.Host(context.Background(), "host01")
		if err != nil {
			t.Fatal(err)
		}
		if o.State != tc.hostState || !o.Result.ExecutionStart.Equal(r.ExecutionStart) {
			t.Fatalf("plugin exit %d: host state %d at %v, want %d at %v", tc.plugin, o.State,
				o.Result.ExecutionStart, tc.hostState, r.ExecutionStart)
		}
	}
}

func TestIcingaPutObjects(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, nil)
	ctx := context.Background()
	attrs := map[string]any{"address": "192.0.2.7", "vars": map[string]any{"picket_agent": true}}
	for i, want := range []bool{false, true} {
		existed, err := c.PutHost(ctx, "put 01", []string{icingatest.HostTemplate}, attrs)
		if err != nil || existed != want {
			t.Fatalf("PutHost #%d: existed=%v, %v", i, existed, err)
		}
		existed, err = c.PutService(ctx, "put 01", "disk /", []string{icingatest.FreshServiceTemplate},
			map[string]any{"check_interval": 300})
		if err != nil || existed != want {
			t.Fatalf("PutService #%d: existed=%v, %v", i, existed, err)
		}
	}
	h, err := in.Host(ctx, "put 01")
	if err != nil || h.Vars["picket_agent"] != true {
		t.Fatalf("host: %+v %v", h, err)
	}
	s, err := in.Service(ctx, "put 01", "disk /")
	if err != nil || !slices.Contains(s.Templates, icingatest.FreshServiceTemplate) {
		t.Fatalf("service: %+v %v", s, err)
	}
	if err := c.ProcessCheckResult(ctx, CheckResult{Host: "put 01", Service: "disk /", Output: "ok"}); err != nil {
		t.Fatalf("result for the new service: %v", err)
	}

	_, err = c.PutService(ctx, "no-such-host", "disk", []string{icingatest.ServiceTemplate}, nil)
	if !errors.Is(err, ErrUnknownObject) {
		t.Errorf("service of a missing host: %v, want ErrUnknownObject", err)
	}
	_, err = c.PutHost(ctx, "put02", []string{"no-such-template"}, nil)
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "no-such-template") {
		t.Errorf("unknown template: %v, want ErrBadRequest naming it", err)
	}
	_, err = c.PutHost(ctx, "put03", []string{icingatest.HostTemplate}, map[string]any{"bogus": 1})
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown attribute: %v, want ErrBadRequest naming it", err)
	}
}

func TestIcingaUnknownObjects(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, nil)
	register(t, c, icingatest.ServiceTemplate, "known01", "disk")
	for _, r := range []CheckResult{
		{Host: "known01", Service: "no-such-service"},
		{Host: "no-such-host", Service: "disk"},
		{Host: "no-such-host"},
	} {
		r.Output = "x"
		err := c.ProcessCheckResult(context.Background(), r)
		var re *ReplyError
		if !errors.Is(err, ErrUnknownObject) || !errors.As(err, &re) || re.Host != r.Host || re.Service != r.Service ||
			Retryable(err) {
			t.Errorf("%s: %v, want a permanent ErrUnknownObject for it", r.Object(), err)
		}
	}
}

func TestIcingaWrongPassword(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, func(cfg *Config) { cfg.Password = "wrong" })
	err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "gw", Output: "x"})
	if !errors.Is(err, ErrUnauthorized) || Retryable(err) || strings.Contains(err.Error(), in.Password) {
		t.Fatalf("got %v, want a permanent ErrUnauthorized", err)
	}
}

func TestIcingaClientCertificate(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, func(cfg *Config) {
		cfg.User, cfg.Password, cfg.CertFile, cfg.KeyFile = "", "", in.ClientCert, in.ClientKey
	})
	register(t, clientFor(t, in, nil), icingatest.ServiceTemplate, "cert01", "load")
	r := CheckResult{Host: "cert01", Service: "load", Output: "LOAD OK", ExecutionStart: past(time.Second)}
	if err := c.ProcessCheckResult(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	stored(t, in, "cert01", "load", func(got *icingatest.Result) bool { return got.Output == "LOAD OK" })

	// A certificate from another CA is no user of this Icinga.
	_, stranger := testCA(t, icingatest.ClientCN)
	c = clientFor(t, in, func(cfg *Config) { cfg.User, cfg.Password, cfg.Certificate = "", "", &stranger })
	err := c.ProcessCheckResult(context.Background(), r)
	if !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrTLS) {
		t.Fatalf("certificate of another CA: %v, want ErrUnauthorized or ErrTLS", err)
	}
	t.Logf("certificate of another CA: %v", err)
}

func TestIcingaUntrustedCertificate(t *testing.T) {
	in := icinga(t)
	other, _ := testCA(t, "x")
	for name, mod := range map[string]func(*Config){
		"another CA":      func(cfg *Config) { cfg.CAFile, cfg.RootCAs = "", other },
		"system CA roots": func(cfg *Config) { cfg.CAFile = "" },
	} {
		err := clientFor(t, in, mod).ProcessCheckResult(context.Background(), CheckResult{Host: "gw", Output: "x"})
		if !errors.Is(err, ErrUntrustedCertificate) || Retryable(err) {
			t.Errorf("%s: %v, want ErrUntrustedCertificate", name, err)
		}
	}
}

func TestIcingaWrongServerName(t *testing.T) {
	in := icinga(t)
	for name, serverName := range map[string]string{"the URL's IP": "", "a wrong name": "icinga.example.com"} {
		c := clientFor(t, in, func(cfg *Config) { cfg.ServerName = serverName })
		err := c.ProcessCheckResult(context.Background(), CheckResult{Host: "gw", Output: "x"})
		want := serverName
		if want == "" {
			want = "127.0.0.1"
		}
		if !errors.Is(err, ErrCertificateName) || !strings.Contains(err.Error(), `"`+want+`"`) ||
			!strings.Contains(err.Error(), icingatest.NodeName) {
			t.Errorf("%s: %v, want ErrCertificateName naming %q and %s", name, err, want, icingatest.NodeName)
		}
	}
}

// A result for an object whose dependencies (with disable_checks) all
// failed: Icinga answers 200 "Ignoring passive check result for
// unreachable object" and keeps nothing. A service on a DOWN host without
// such a dependency is not affected.
func TestIcingaUnreachableIsIgnored(t *testing.T) {
	in := icinga(t)
	c := clientFor(t, in, nil)
	ctx := context.Background()
	send := func(host, svc string, exit int, out string) error {
		return c.ProcessCheckResult(ctx, CheckResult{Host: host, Service: svc, ExitStatus: exit, Output: out})
	}
	if err := send("gw", "", 2, "gw DOWN"); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"", "svc"} {
		err := send("behind", svc, 0, "while gw is down")
		var re *ReplyError
		if !errors.Is(err, ErrUnreachable) || !errors.As(err, &re) || re.HTTPStatus != 200 ||
			!strings.HasPrefix(re.Status, "Ignoring passive check result for unreachable object") {
			t.Fatalf("behind!%s: %v, want ErrUnreachable from a 200", svc, err)
		}
	}
	if o, _ := in.Service(ctx, "behind", "svc"); o.Result != nil && o.Result.Output == "while gw is down" {
		t.Fatal("an ignored result was stored")
	}

	register(t, c, icingatest.ServiceTemplate, "down01", "disk")
	if err := send("down01", "", 2, "host DOWN"); err != nil {
		t.Fatal(err)
	}
	if err := send("down01", "disk", 0, "service on a DOWN host"); err != nil {
		t.Fatalf("service of a DOWN host without dependency: %v", err)
	}

	if err := send("gw", "", 0, "gw UP"); err != nil {
		t.Fatal(err)
	}
	if err := send("behind", "svc", 0, "gw is back"); err != nil {
		t.Fatal(err)
	}
	stored(t, in, "behind", "svc", func(r *icingatest.Result) bool { return r.Output == "gw is back" })
}
