package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/internal/control"
	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/nsca"
)

func TestRateWindow(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, c := range []struct {
		name    string
		samples map[int]uint64 // second -> count, added in order of seconds
		now     int
		n       uint64
		over    time.Duration
		want    float64
		wantFor string
	}{
		{"young server: since start", map[int]uint64{0: 0}, 30, 10, time.Minute, 20, "30s"},
		{"last minute only", map[int]uint64{0: 0, 30: 100, 60: 100, 90: 160}, 120, 160, time.Minute, 60, "1m0s"},
		{"five minutes", map[int]uint64{0: 0, 60: 50, 300: 300}, 300, 300, 5 * time.Minute, 60, "5m0s"},
		{"between samples takes the newest old enough", map[int]uint64{0: 0, 5: 10, 10: 20}, 65, 130, time.Minute, 120, "1m0s"},
		{"no results", map[int]uint64{0: 0, 60: 0}, 90, 0, time.Minute, 0, "1m30s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w rateWindow
			for s := 0; s <= c.now; s++ {
				if n, ok := c.samples[s]; ok {
					w.add(at(s), n)
				}
			}
			got := w.rate(at(c.now), c.n, c.over)
			if fmt.Sprintf("%.2f", got.PerMinute) != fmt.Sprintf("%.2f", c.want) || got.Over != c.wantFor {
				t.Errorf("rate = %+v, want %.2f over %s", got, c.want, c.wantFor)
			}
		})
	}
}

// The window keeps what the longest rate needs, and no more.
func TestRateWindowIsBounded(t *testing.T) {
	var w rateWindow
	t0 := time.Now()
	for i := range 1000 {
		w.add(t0.Add(time.Duration(i)*rateStep), uint64(i))
	}
	if max := int(rateKeep/rateStep) + 2; len(w.s) > max {
		t.Errorf("%d samples kept, want at most %d", len(w.s), max)
	}
	now := t0.Add(999 * rateStep)
	if r := w.rate(now, 999, rateKeep); r.Over != rateKeep.String() || r.PerMinute != float64(time.Minute/rateStep) {
		t.Errorf("rate over %s = %+v", rateKeep, r)
	}
}

func TestNagiosSyncedOutcomes(t *testing.T) {
	invalid := fmt.Errorf("nagios objects: %w: nagios4 -v exited 1", nagios.ErrInvalid)
	reloadFailed := errors.New("nagios objects: reload: exit status 1 (the validated files stay; the next sync reloads again)")
	for _, c := range []struct {
		name                         string
		res                          nagios.SyncResult
		err                          error
		wantUpdate, wantOK, validate bool
		reloaded                     bool
	}{
		{"nothing to do", nagios.SyncResult{}, nil, false, false, false, false},
		{"validated and reloaded", nagios.SyncResult{Written: []string{"web01"}, Reloaded: true}, nil, true, true, true, true},
		{"validation failed", nagios.SyncResult{}, invalid, true, false, false, false},
		{"reload failed after validation", nagios.SyncResult{Written: []string{"web01"}}, reloadFailed, true, false, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &Config{Nagios: &NagiosConfig{Validate: []string{"nagios4", "-v", "nagios.cfg"}}}
			b := newBoard(cfg)
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			b.now = func() time.Time { return t0 }
			res, err := b.nagiosSynced(c.res, c.err)
			if err != c.err || len(res.Written) != len(c.res.Written) {
				t.Errorf("outcome not passed on: %v %v", res, err)
			}
			v := b.status().Nagios
			if v.Checked != t0 {
				t.Errorf("checked = %v, want %v", v.Checked, t0)
			}
			if got := v.Last == t0; got != c.wantUpdate {
				t.Fatalf("recorded as an update: %v, want %v (%+v)", got, c.wantUpdate, v)
			}
			if !c.wantUpdate {
				return
			}
			if v.OK != c.wantOK || v.Validated != c.validate || v.Reloaded != c.reloaded || (c.err != nil) != (v.Error != "") {
				t.Errorf("view = %+v", v)
			}
			if c.wantOK != (v.LastOK == t0) {
				t.Errorf("last_ok = %v", v.LastOK)
			}
		})
	}
}

func TestControlPath(t *testing.T) {
	if runtime.GOOS == "windows" {
		if p := ControlPath(&Config{}); p != `\\.\pipe\picket-server` {
			t.Errorf("default = %q", p)
		}
		return
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, filepath.Join(DefaultServerStateDir, "control.sock")},
		{Config{StateDir: "/srv/picket"}, "/srv/picket/control.sock"},
		{Config{StateDir: "/srv/picket", ControlSocket: "/run/picket/server.sock"}, "/run/picket/server.sock"},
	} {
		if got := ControlPath(&c.cfg); got != c.want {
			t.Errorf("ControlPath(%+v) = %q, want %q", c.cfg, got, c.want)
		}
	}
}

// One pass lists the problems of every section, each on its line.
func TestLoadConfigListsEverySection(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "server.toml", `control_socket = "control.sock"

[nsca]
listen = "5667"
encryption = "aes256"
command_file = "/x"

[http]
listen = "nowhere"
`, 0o600)
	_, err := LoadConfig(p)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		p + ":1: control_socket:",
		p + ":4: nsca.listen:",
		p + ":3: nsca.password_file: missing",
		p + ":9: http.listen:",
		p + ":8: http: serves [externals] and [registration]",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// A running server answers on its control channel with what its NSCA
// receiver took and turned away.
func TestStatusThroughControlChannel(t *testing.T) {
	dir := t.TempDir()
	cmdFile := writeFile(t, dir, "nagios.cmd", "", 0o600)
	pw := writeFile(t, dir, "pw", "secret\n", 0o600)
	cfgPath := writeFile(t, dir, "server.toml", fmt.Sprintf("state_dir = %q\n[nsca]\nlisten = \"127.0.0.1:0\"\nencryption = \"aes256\"\npassword_file = %q\ncommand_file = %q\n",
		dir, pw, cmdFile), 0o600)
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Version = "test"
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.DiscardHandler), func(a Addrs) { addrc <- a.NSCA }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	addr := (<-addrc).String()

	send := func(password string) {
		c, err := (&nsca.Dialer{Method: nsca.Rijndael128, Password: []byte(password)}).Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.SendBatch(ctx, []nsca.Packet{{Host: "web01", Service: "disk", Output: "OK"}}); err != nil {
			t.Fatal(err)
		}
	}
	send("secret")
	send("wrong")

	client := control.NewClient(ControlPath(cfg))
	var st Status
	deadline := time.Now().Add(20 * time.Second)
	for {
		st = Status{}
		if err := client.Do(ctx, "GET", "/v1/status", nil, &st); err != nil {
			t.Fatal(err)
		}
		n := st.NSCA
		if n != nil && n.Received == 1 && n.Rejected.BadVersion+n.Rejected.BadCRC == 1 && n.Written == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed 1 received, 1 rejected and 1 written: %+v", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Version != "test" || st.Config != cfgPath || st.Hosts != nil || st.Nagios != nil {
		t.Errorf("status = %+v", st)
	}
	want := map[string]string{"nsca": addr, "control": ControlPath(cfg)}
	for _, l := range st.Listeners {
		if want[l.Name] != l.Address || l.State != ListenerUp {
			t.Errorf("listener %+v, want %s up", l, want[l.Name])
		}
		delete(want, l.Name)
	}
	if len(want) > 0 {
		t.Errorf("listeners missing: %v", want)
	}
	if st.NSCA.Rate1m.PerMinute <= 0 {
		t.Errorf("rate over the last minute = %+v with one result received", st.NSCA.Rate1m)
	}
}

// The central side records each objects update on the board: a good one,
// one the validator refuses, one an invalid externals file stops; and the
// board lists the registry.
func TestStatusOfObjectsAndHosts(t *testing.T) {
	f := newFixture(t)
	c, err := newCentral(context.Background(), f.cfg, f.logger)
	if err != nil {
		t.Fatal(err)
	}
	b := newBoard(f.cfg)
	b.attach(c)
	ctx := context.Background()
	reg := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	if err := c.registry.Put(autoreg.Entry{Host: "web01", Profile: "base", Registered: reg, LastSeen: reg,
		Facts: autoreg.Request{Addresses: []string{"10.0.0.1"}}}); err != nil {
		t.Fatal(err)
	}
	c.registry.Seen("web01", "10.0.0.2", reg.Add(time.Hour))
	writeFile(t, f.extDir, "web01.toml", web01Externals, 0o644)

	c.syncObjects(ctx)
	st := b.status()
	if n := st.Nagios; n == nil || !n.OK || !n.Validated || !n.Reloaded || n.Error != "" || !slices.Contains(n.Written, "web01") || n.LastOK != n.Last {
		t.Errorf("after a good update: %+v", n)
	}
	good := st.Nagios.LastOK
	if h := st.Hosts; h == nil || h.Count != 1 || h.List[0].Host != "web01" || h.List[0].Profile != "base" ||
		!h.List[0].Registered.Equal(reg) || !h.List[0].LastSeen.Equal(reg.Add(time.Hour)) {
		t.Errorf("hosts: %+v", h)
	}

	writeFile(t, f.dir, "fail", "", 0o644)
	writeFile(t, f.extDir, "db01.toml", db01Externals, 0o644)
	c.syncObjects(ctx)
	n := b.status().Nagios
	if n.OK || n.Validated || n.Reloaded || !strings.Contains(n.Error, "Error: x") || !n.LastOK.Equal(good) {
		t.Errorf("after a refused update: %+v", n)
	}

	writeFile(t, f.extDir, "db02.toml", invalidExternals, 0o644)
	c.syncObjects(ctx)
	n = b.status().Nagios
	if n.OK || !strings.HasPrefix(n.Error, "an externals file is invalid: ") || !strings.Contains(n.Error, "db02.toml") {
		t.Errorf("after an invalid externals file: %+v", n)
	}
}

func TestIcingaSynced(t *testing.T) {
	b := newBoard(&Config{Icinga2: &IcingaConfig{}})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return t0 }
	if err := b.icingaSynced(nil); err != nil {
		t.Fatal(err)
	}
	b.now = func() time.Time { return t0.Add(time.Minute) }
	refused := errors.New("create host web01 in Icinga 2: 403 Forbidden")
	if err := b.icingaSynced(refused); err != refused {
		t.Errorf("error not passed on: %v", err)
	}
	v := b.status().Icinga2
	if v.OK || v.Error != refused.Error() || !v.Last.Equal(t0.Add(time.Minute)) || !v.LastOK.Equal(t0) {
		t.Errorf("view = %+v", v)
	}
	if st := b.status(); st.Nagios != nil {
		t.Errorf("a server without [nagios] shows %+v", st.Nagios)
	}
}
