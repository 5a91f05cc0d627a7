package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/signing"
)

// The agent makes its key at its first registration, the server binds the
// host to it, and every later pull is signed with it; a restarted agent
// keeps the key and needs no registration.
func TestAgentBindsItsKeyAndSignsPulls(t *testing.T) {
	c := startCentral(t)
	dir := t.TempDir()
	cfgPath := agentFile(t, dir, "web01", "", c.externalsSection(), c.autoregSection())
	m := newManagerAt(t, cfgPath)
	run := runManager(t, m)
	waitFor(t, "the profile's checks", func() bool { return len(m.checks()) > 0 })
	run.stop(t)

	keyPath := filepath.Join(dir, "state", identityKeyFile)
	st, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode().Perm())
	}
	fp := signing.Fingerprint(m.signer.PublicKey())
	if b, ok := c.ids.Get("web01"); !ok || b.Fingerprint != fp {
		t.Fatalf("binding on the server: %+v %v, want %s", b, ok, fp)
	}
	if a, err := autoreg.LoadAssignment(filepath.Join(dir, "state", registrationFile)); err != nil || a.Key != fp || len(a.ServerPins) == 0 {
		t.Errorf("registration.json: %+v %v", a, err)
	}
	if got := c.lastAuth(); got != "web01: verified" {
		t.Errorf("the last pull: %s", got)
	}
	r := m.report(time.Now())
	if r.State != check.OK || !strings.Contains(r.Output, "bound to key "+fp[:19]+"...") || !strings.Contains(r.LongOutput, "identity: key "+fp+" bound to web01 since ") {
		t.Errorf("report %v %q", r.State, r.Output)
	}
	// The key never reaches a log or the report.
	key, _ := os.ReadFile(keyPath)
	if strings.Contains(r.Output+r.LongOutput, string(key)) {
		t.Error("the private key is in the report")
	}

	// Restarted: same key, no registration needed.
	again := newManagerAt(t, cfgPath)
	if signing.Fingerprint(again.signer.PublicKey()) != fp {
		t.Fatal("a restart made a new key")
	}
	if needReg := again.fetchAll(context.Background()); needReg {
		t.Error("a bound agent wants to register again")
	}
	if got := c.lastAuth(); got != "web01: verified" {
		t.Errorf("the pull after a restart: %s", got)
	}
}

// An agent upgraded from before identities (registered, no key) makes its
// key and registers once to bind it.
func TestUpgradedAgentBindsItsKey(t *testing.T) {
	c := startCentral(t)
	c.publish(t, "web01", baseProfile, c.key)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "state"), 0o700)
	if err := autoreg.SaveAssignment(filepath.Join(dir, "state", registrationFile), autoreg.Response{Host: "web01", Profile: "base"}); err != nil {
		t.Fatal(err)
	}
	m := newManagerAt(t, agentFile(t, dir, "web01", "", c.externalsSection(), c.autoregSection()))
	if needReg := m.fetchAll(context.Background()); !needReg {
		t.Fatal("an unbound key does not make the agent register")
	}
	if r := m.report(time.Now()); !strings.Contains(r.Output, "not bound yet") {
		t.Errorf("report before binding: %q", r.Output)
	}
	// Without its token, it cannot bind, and says so.
	tokenFile := c.tokenFile
	token, _ := os.ReadFile(tokenFile)
	os.Remove(tokenFile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if _, ok := m.register(ctx); ok {
		t.Fatal("bound without a token")
	}
	cancel()
	if r := m.report(time.Now()); r.State != check.Warning || !strings.Contains(r.Output, "this host is not bound to the agent's key") {
		t.Errorf("report after a failed binding: %v %q", r.State, r.Output)
	}
	os.WriteFile(tokenFile, token, 0o600)
	if _, ok := m.register(context.Background()); !ok {
		t.Fatalf("register: %s", m.regErr())
	}
	if r := m.report(time.Now()); r.State != check.OK {
		t.Errorf("report once bound: %v %q", r.State, r.Output)
	}
	if _, ok := c.ids.Get("web01"); !ok {
		t.Error("not bound after the registration")
	}
	if needReg := m.fetchAll(context.Background()); needReg {
		t.Error("still wants to register once bound")
	}
}

func newManagerAt(t *testing.T, cfgPath string) *extManager {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newExtManager(cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// rotatingServer serves c's externals folder signing with cur and
// announcing next, over its own TLS certificate (written to caFile).
func rotatingServer(t *testing.T, c *central, cur, next ed25519.PrivateKey) (url, caFile string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.StripPrefix("/externals/", &externals.Handler{Dir: c.dir, Keys: &externals.Keys{Current: cur, Next: next}}))
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	return srv.URL + "/externals/", caFile
}

// While the server rotates its key, an agent that does not trust the next
// one yet warns; trusting both, it gets files signed by the next key.
func TestRetiringKeyWarns(t *testing.T) {
	c := startCentral(t)
	nextPub, next, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c.publish(t, "web01", baseProfile, c.key)
	url, ca := rotatingServer(t, c, c.key, next)
	section := func(keys string) string {
		return "\n[externals]\nurl = \"" + url + "\"\nca_file = \"" + ca + "\"\n" + keys + "\n"
	}
	m, _ := newTestManager(t, "web01", "", section("public_key = \""+signing.FormatPublicKey(c.pub)+"\""))
	m.fetchAll(context.Background())
	r := m.report(time.Now())
	want := "the server is retiring externals key " + signing.Fingerprint(c.pub) + " for " + signing.Fingerprint(nextPub) +
		", which this agent does not trust yet: add it to [externals] public_keys"
	if r.State != check.Warning || !strings.Contains(r.Output, want) {
		t.Errorf("trusting the current key only: %v %q", r.State, r.Output)
	}
	m, _ = newTestManager(t, "web01", "", section("public_key = \""+signing.FormatPublicKey(c.pub)+"\"\npublic_keys = [\""+signing.FormatPublicKey(nextPub)+"\"]"))
	m.fetchAll(context.Background())
	if r := m.report(time.Now()); r.State != check.OK || m.hosts[0].snap.Meta.Key != signing.Fingerprint(nextPub) {
		t.Errorf("trusting both: %v %q, signed by %s", r.State, r.Output, m.hosts[0].snap.Meta.Key)
	}
}

// insecure_skip_verify works against a certificate nothing vouches for,
// and keeps picket_externals at WARNING; a pin still holds under it.
func TestInsecureAndPins(t *testing.T) {
	c := startCentral(t)
	c.publish(t, "web01", baseProfile, c.key)
	key := "public_key = \"" + signing.FormatPublicKey(c.pub) + "\""
	section := func(extra ...string) string {
		return "\n[externals]\nurl = \"" + c.URL + "/externals/\"\n" + key + "\n" + strings.Join(extra, "\n") + "\n"
	}
	pin := autoreg.SPKIPin(c.Certificate())
	otherPin := strings.Repeat("A", 43) + "="
	for _, tt := range []struct {
		name   string
		extra  []string
		status externals.Status
		state  check.State
	}{
		{"verified by nothing", nil, externals.Unreachable, check.OK},
		{"insecure", []string{"insecure_skip_verify = true"}, externals.Updated, check.Warning},
		{"insecure, pinned", []string{"insecure_skip_verify = true", "pin_sha256 = [\"" + pin + "\"]"}, externals.Updated, check.Warning},
		{"insecure, another pin", []string{"insecure_skip_verify = true", "pin_sha256 = [\"" + otherPin + "\"]"}, externals.Unreachable, check.Warning},
		{"ca_file, pinned", []string{"ca_file = \"" + c.caFile + "\"", "pin_sha256 = [\"" + pin + "\"]"}, externals.Updated, check.OK},
		{"ca_file, another pin", []string{"ca_file = \"" + c.caFile + "\"", "pin_sha256 = [\"" + otherPin + "\"]"}, externals.Unreachable, check.OK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestManager(t, "web01", "", section(tt.extra...))
			m.fetchAll(context.Background())
			if got := m.hosts[0].last; got.Status != tt.status {
				t.Fatalf("pull: %v %v, want %v", got.Status, got.Err, tt.status)
			}
			if tt.status == externals.Unreachable && strings.Contains(strings.Join(tt.extra, ""), otherPin) && !strings.Contains(m.hosts[0].last.Err.Error(), "pin_sha256") {
				t.Errorf("the error does not name the pin: %v", m.hosts[0].last.Err)
			}
			r := m.report(time.Now())
			if r.State != tt.state {
				t.Errorf("report %v %q, want %v", r.State, r.Output, tt.state)
			}
			if tt.state == check.Warning && !strings.Contains(r.Output, "insecure_skip_verify") {
				t.Errorf("report %q", r.Output)
			}
		})
	}
}

// pin_sha256 = ["enrollment"] pins the certificate the registration saw:
// another certificate for the same address is refused afterwards.
func TestPinLearnedAtEnrollment(t *testing.T) {
	c := startCentral(t)
	dir := t.TempDir()
	cfgPath := agentFile(t, dir, "web01", "", c.externalsSection(`pin_sha256 = ["enrollment"]`), c.autoregSection())
	m := newManagerAt(t, cfgPath)
	if r := m.report(time.Now()); !strings.Contains(r.LongOutput, "pinned once a registration records it") {
		t.Errorf("before registration: %q", r.LongOutput)
	}
	if _, ok := m.register(context.Background()); !ok {
		t.Fatalf("register: %s", m.regErr())
	}
	if o := m.puller.Fetch(context.Background(), "web01"); o.Status != externals.Updated {
		t.Fatalf("pull with the learned pin: %v %v", o.Status, o.Err)
	}
	// Another server with another certificate, trusted by the same
	// ca_file: the pin refuses it.
	impostor := httptest.NewUnstartedServer(c.Config.Handler)
	impostor.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	impostor.StartTLS()
	defer impostor.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	both, _ := os.ReadFile(c.caFile)
	os.WriteFile(ca, append(both, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: impostor.TLS.Certificates[0].Certificate[0]})...), 0o644)
	section := "\n[externals]\nurl = \"" + impostor.URL + "/externals/\"\nca_file = \"" + ca + "\"\npin_sha256 = [\"enrollment\"]\n"
	os.WriteFile(cfgPath, []byte(strings.Replace(readFile(t, cfgPath), c.externalsSection(`pin_sha256 = ["enrollment"]`), section, 1)), 0o600)
	m2 := newManagerAt(t, cfgPath)
	if o := m2.puller.Fetch(context.Background(), "web01"); o.Status != externals.Unreachable || !strings.Contains(o.Err.Error(), "pin_sha256") {
		t.Errorf("an unpinned certificate: %v %v", o.Status, o.Err)
	}
}

// selfSigned is a certificate for 127.0.0.1 with a key of its own (the
// test servers of httptest all share one).
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "impostor"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
