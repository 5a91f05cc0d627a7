package agent

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync/atomic"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/signing"
)

// identityKeyFile is the agent's own key, in state_dir: made on the host
// the first time it registers, never sent anywhere, 0600.
const identityKeyFile = "identity.key"

// pinSet is the certificate pins every TLS connection to the central
// server must match: pin_sha256's, with "enrollment" standing for the
// pins the agent recorded at its registration (learned later, so they
// can change while the manager runs).
type pinSet struct {
	fixed      []string
	enrollment bool
	learned    atomic.Pointer[[]string]
}

func newPinSet(e config.Externals, recorded []string) *pinSet {
	p := &pinSet{}
	for _, pin := range e.PinSHA256 {
		if pin == config.PinEnrollment {
			p.enrollment = true
			continue
		}
		p.fixed = append(p.fixed, pin)
	}
	p.learn(recorded)
	return p
}

// learn takes the pins of the chain a registration saw.
func (p *pinSet) learn(pins []string) {
	if len(pins) > 0 {
		c := slices.Clone(pins)
		p.learned.Store(&c)
	}
}

// current is every pin in force; none means no pinning.
func (p *pinSet) current() []string {
	out := slices.Clone(p.fixed)
	if l := p.learned.Load(); p.enrollment && l != nil {
		out = append(out, *l...)
	}
	return out
}

// pending reports whether "enrollment" was asked for but no registration
// has recorded the server's pins yet: until one does, only the usual
// verification protects the connection.
func (p *pinSet) pending() bool { return p.enrollment && p.learned.Load() == nil }

var errPin = errors.New("the server's certificate matches none of [externals] pin_sha256")

// verify checks a connection's certificates against the pins. With the
// usual verification on, a pinned key must be in a chain Go verified;
// without it (insecure_skip_verify), the leaf must be pinned, or chain up
// to a pinned certificate it presents. A mismatch is a certificate
// verification error, which no retry can mend.
func (p *pinSet) verify(insecure bool) func(tls.ConnectionState) error {
	check := p.check(insecure)
	return func(cs tls.ConnectionState) error {
		if err := check(cs); err != nil {
			return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
		}
		return nil
	}
}

func (p *pinSet) check(insecure bool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		pins := p.current()
		if len(pins) == 0 {
			return nil
		}
		pinned := func(c *x509.Certificate) bool { return slices.Contains(pins, autoreg.SPKIPin(c)) }
		if !insecure {
			for _, chain := range cs.VerifiedChains {
				if slices.ContainsFunc(chain, pinned) {
					return nil
				}
			}
			return errPin
		}
		if len(cs.PeerCertificates) == 0 {
			return errPin
		}
		leaf := cs.PeerCertificates[0]
		if pinned(leaf) {
			return nil
		}
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		anchors := 0
		for _, c := range cs.PeerCertificates[1:] {
			if pinned(c) {
				roots.AddCert(c)
				anchors++
			} else {
				inter.AddCert(c)
			}
		}
		if anchors > 0 {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err == nil {
				return nil
			}
		}
		return errPin
	}
}

// clientTLS is the TLS of every request to the central server: the system's
// roots plus ca_file, an optional client certificate, TLS 1.2 at least,
// the pins, and verification off only when insecure_skip_verify says so.
func clientTLS(e config.Externals, pins *pinSet) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: e.InsecureSkipVerify}
	tc.VerifyConnection = pins.verify(e.InsecureSkipVerify)
	if e.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("externals.ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("externals.ca_file: %s holds no PEM certificate", e.CAFile)
		}
		tc.RootCAs = pool
	}
	if e.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("externals.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// proxyFunc is how requests to the central server find their proxy:
// [externals] proxy when set ("direct": none, whatever the environment
// says), else the environment's HTTPS_PROXY, HTTP_PROXY and NO_PROXY.
func proxyFunc(e config.Externals) (func(*http.Request) (*url.URL, error), error) {
	switch e.Proxy {
	case "":
		return http.ProxyFromEnvironment, nil
	case config.ProxyDirect:
		return func(*http.Request) (*url.URL, error) { return nil, nil }, nil
	}
	u, err := url.Parse(e.Proxy)
	if err != nil {
		return nil, fmt.Errorf("externals.proxy: %w", err)
	}
	return http.ProxyURL(u), nil
}

func httpClient(tc *tls.Config, proxy func(*http.Request) (*url.URL, error)) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.Proxy = proxy
	return &http.Client{Transport: tr}
}

// trustedKeys are public_key and public_keys, each once.
func trustedKeys(e config.Externals) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for i, s := range append([]string{e.PublicKey}, e.PublicKeys...) {
		if s == "" {
			continue
		}
		k, err := signing.ParsePublicKey(s)
		if err != nil {
			field := "externals.public_key"
			if i > 0 {
				field = fmt.Sprintf("externals.public_keys entry %d", i)
			}
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		if !slices.ContainsFunc(out, func(o ed25519.PublicKey) bool { return o.Equal(k) }) {
			out = append(out, k)
		}
	}
	return out, nil
}
