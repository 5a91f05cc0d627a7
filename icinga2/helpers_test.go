package icinga2

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

var quietLog = log.New(io.Discard, "", 0)

// request is what the fake API received.
type request struct {
	Method, Path, User, Password, Accept string
	ClientCN                             string
	Body                                 map[string]any
}

// fakeAPI is an httptest TLS server that records requests and answers
// with what answer returns for each.
type fakeAPI struct {
	srv    *httptest.Server
	answer func(request) (int, string)

	mu    sync.Mutex
	reqs  []request
	conns int // TCP connections accepted
}

func startFake(t *testing.T, answer func(request) (int, string)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{answer: answer}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = quietLog // refused handshakes are what some tests want
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.mu.Lock()
			f.conns++
			f.mu.Unlock()
		}
	}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	req := request{Method: r.Method, Path: r.URL.EscapedPath(), Accept: r.Header.Get("Accept")}
	req.User, req.Password, _ = r.BasicAuth()
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		req.ClientCN = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	b, _ := io.ReadAll(r.Body)
	json.Unmarshal(b, &req.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	code, body := f.answer(req)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func (f *fakeAPI) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

// pool trusts the fake's certificate (valid for 127.0.0.1 and example.com).
func (f *fakeAPI) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(f.srv.Certificate())
	return p
}

func (f *fakeAPI) client(t *testing.T, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{URL: f.srv.URL, User: "picket", Password: "s3cret", RootCAs: f.pool(), MaxConcurrency: 4}
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

// okAnswer is Icinga 2.13's answer to an accepted result.
func okAnswer(req request) (int, string) {
	return 200, `{"results":[{"code":200,"status":"Successfully processed check result for object '` +
		objectOf(req) + `'."}]}`
}

func objectOf(req request) string {
	if s, ok := req.Body["service"].(string); ok {
		return s
	}
	s, _ := req.Body["host"].(string)
	return s
}

// testCA makes a CA and a certificate it signed, for cn, usable by a
// client; it returns the pool of the CA and the certificate.
func testCA(t *testing.T, cn string) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
