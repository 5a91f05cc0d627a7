package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/signing"
)

// selfSigned makes a CA certificate for 127.0.0.1 valid from notBefore to
// notAfter, and writes it (PEM) to dir/name.
func selfSigned(t *testing.T, dir, name string, notBefore, notAfter time.Time) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "doctor test"},
		NotBefore: notBefore, NotAfter: notAfter, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := writeTestFile(t, filepath.Join(dir, name), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, file
}

// centralServer is an HTTPS server with the externals of host web01
// (signed with key) under /externals/, and a registration endpoint that
// refuses GETs as picket server's does.
func centralServer(t *testing.T, cert tls.Certificate, key ed25519.PrivateKey, file string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/externals/web01.toml", func(w http.ResponseWriter, r *http.Request) {
		if file == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set(externals.SignatureHeader, signing.SignExternals(key, "web01", 1, "", []byte(file)).String())
		io.WriteString(w, file)
	})
	mux.HandleFunc("/v1/register", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "registration takes POST", http.StatusMethodNotAllowed)
			return
		}
		t.Error("doctor sent a registration")
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some cases want
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

const doctorExternalsOK = `[[check]]
service = "ext_ok"
command = "check_ok"
interval = "1m"
`

const doctorExternals = doctorExternalsOK + `
[[check]]
service = "ext_gone"
command = "check_gone"
interval = "1m"
`

func TestDoctorExternals(t *testing.T) {
	e := newDoctorEnv(t)
	now := time.Now()
	pub, key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	good, goodCA := selfSigned(t, e.dir, "good.crt", now.Add(-time.Hour), now.Add(400*24*time.Hour))
	expired, expiredCA := selfSigned(t, e.dir, "expired.crt", time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC))
	soon, soonCA := selfSigned(t, e.dir, "soon.crt", now.Add(-time.Hour), now.Add(10*24*time.Hour+time.Hour))
	token := writeTestFile(t, filepath.Join(e.dir, "register.token"), "tok\n", 0o600)
	section := func(url, ca string, autoreg bool) string {
		s := fmt.Sprintf("[externals]\nurl = %q\nca_file = %q\npublic_key = %q\n", url+"/externals/", ca, signing.FormatPublicKey(pub))
		if autoreg {
			s += fmt.Sprintf("[autoreg]\nurl = %q\ntoken_file = %q\n", url+"/v1/register", token)
		}
		return s
	}
	for _, tt := range []struct {
		name    string
		url     string
		ca      string
		autoreg bool
		code    int
		want    [][]string // prefix, then parts
	}{
		{"signed file", centralServer(t, good, key, doctorExternals), goodCA, true, exitCritical, [][]string{
			{"PASS  externals https://127.0.0.1:", "certificate for 127.0.0.1 trusted, valid until", "(399 days)"},
			{"PASS  externals web01.toml: ", "2 checks, signature verified"},
			{"FAIL  externals web01.toml check ext_gone: ", `"check_gone" not found`, " — fix: install the plugin"},
			{"PASS  autoreg https://127.0.0.1:", "405 to a GET", "only a POST registers"},
		}},
		{"signed with another key", centralServer(t, good, otherKey, doctorExternals), goodCA, false, exitCritical, [][]string{
			{"FAIL  externals web01.toml: ", "refused: ", "not among the trusted public keys", " — fix: "},
		}},
		{"not registered, with autoreg", centralServer(t, good, key, ""), goodCA, true, exitOK, [][]string{
			{"WARN  externals web01.toml: ", "not registered yet", "(404)", " — fix: none needed"},
		}},
		{"not registered, no autoreg", centralServer(t, good, key, ""), goodCA, false, exitCritical, [][]string{
			{"FAIL  externals web01.toml: ", "no [autoreg]", " — fix: put web01.toml into picket server's externals folder"},
		}},
		{"expired certificate", centralServer(t, expired, key, doctorExternals), expiredCA, true, exitCritical, [][]string{
			{"FAIL  externals https://127.0.0.1:", "the server's certificate expired on 2020-03-01", " — fix: renew the server's certificate"},
			{"SKIP  externals https://127.0.0.1:", "not fetched"},
			{"FAIL  autoreg https://127.0.0.1:", "expired on 2020-03-01"},
		}},
		{"certificate expiring soon", centralServer(t, soon, key, doctorExternalsOK), soonCA, false, exitOK, [][]string{
			{"WARN  externals https://127.0.0.1:", "(10 days)", " — fix: renew the server's certificate", "before then"},
		}},
		{"untrusted certificate", centralServer(t, good, key, doctorExternals), soonCA, false, exitCritical, [][]string{
			{"FAIL  externals https://127.0.0.1:", "not signed by a CA this host trusts", " — fix: set ca_file"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, lines := doctorLines(t, "--config", e.config(t, section(tt.url, tt.ca, tt.autoreg)))
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, strings.Join(lines, "\n"))
			}
			for _, w := range tt.want {
				line(t, lines, w[0], w[1:]...)
			}
		})
	}
}

func TestDoctorAutoregEndpoint(t *testing.T) {
	e := newDoctorEnv(t)
	cert, ca := selfSigned(t, e.dir, "ca.crt", time.Now().Add(-time.Hour), time.Now().Add(100*24*time.Hour))
	url := centralServer(t, cert, nil, "")
	token := writeTestFile(t, filepath.Join(e.dir, "register.token"), "tok\n", 0o600)
	path := e.config(t, fmt.Sprintf("[externals]\nurl = %q\nca_file = %q\n[autoreg]\nurl = %q\ntoken_file = %q\n",
		url+"/externals/", ca, url+"/elsewhere", token))
	code, lines := doctorLines(t, "--config", path)
	if code != exitCritical {
		t.Errorf("exit %d", code)
	}
	line(t, lines, "FAIL  autoreg "+url+"/elsewhere: ", "nothing there (404)", " — fix: use picket server's")

	writeTestFile(t, token, "\n", 0o600)
	_, lines = doctorLines(t, "--config", path)
	line(t, lines, "FAIL  autoreg "+url+"/elsewhere: ", "is empty", " — fix: write the registration token")
}

// An Icinga 2 target: GET /v1 proves TLS, the login and the permission.
func TestDoctorIcinga(t *testing.T) {
	e := newDoctorEnv(t)
	var answer func(w http.ResponseWriter, user, pw string)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1" || r.Method != http.MethodGet {
			t.Errorf("doctor sent %s %s", r.Method, r.URL.Path)
		}
		user, pw, _ := r.BasicAuth()
		answer(w, user, pw)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	ca := writeTestFile(t, filepath.Join(e.dir, "icinga-ca.crt"),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})), 0o644)
	path := e.config(t, fmt.Sprintf("[[target]]\nkind = \"icinga2\"\nurl = %q\nuser = \"picket\"\npassword_file = %q\nca_file = %q\n",
		srv.URL, e.pw, ca))
	for _, tt := range []struct {
		name   string
		perms  string
		code   int
		prefix string
		parts  []string
	}{
		{"accepted", `["objects/query/*", "actions/*"]`, exitOK, "PASS  target " + srv.URL + ": ",
			[]string{"Icinga 2 r2.13.6-1, user picket accepted, may send check results, valid until"}},
		{"no permission", `["objects/query/*"]`, exitCritical, "FAIL  target " + srv.URL + ": ",
			[]string{"may not send check results", ` — fix: add "actions/process-check-result"`}},
		{"wrong password", "", exitCritical, "FAIL  target " + srv.URL + ": ",
			[]string{"Icinga 2 refused user picket", " — fix: check the ApiUser"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			answer = func(w http.ResponseWriter, user, pw string) {
				if tt.perms == "" || user != "picket" || pw != "right" {
					http.Error(w, `{"error":401,"status":"Unauthorized. Please check your user credentials."}`, http.StatusUnauthorized)
					return
				}
				fmt.Fprintf(w, `{"results":[{"info":"More information...","permissions":%s,"user":"picket","version":"r2.13.6-1"}]}`, tt.perms)
			}
			code, lines := doctorLines(t, "--config", path)
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, strings.Join(lines, "\n"))
			}
			line(t, lines, tt.prefix, tt.parts...)
		})
	}
}

// A password written into a URL is never printed.
func TestDoctorRedactsURLs(t *testing.T) {
	e := newDoctorEnv(t)
	cert, ca := selfSigned(t, e.dir, "ca.crt", time.Now().Add(-time.Hour), time.Now().Add(100*24*time.Hour))
	base := strings.Replace(centralServer(t, cert, nil, ""), "https://", "https://agent:pw-in-url@", 1)
	token := writeTestFile(t, filepath.Join(e.dir, "register.token"), "tok\n", 0o600)
	path := e.config(t, fmt.Sprintf("[externals]\nurl = %q\nca_file = %q\n[autoreg]\nurl = %q\ntoken_file = %q\n",
		base+"/externals/", ca, base+"/v1/register", token))
	code, out, _ := run("doctor", "--config", path)
	if strings.Contains(out, "pw-in-url") || !strings.Contains(out, "agent:xxxxx@") || code != exitOK {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
