package icinga2

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Defaults for a zero Config field.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMaxConcurrency = 4
)

// maxReply bounds how much of a reply is read: Icinga's answers to these
// requests are a few hundred bytes.
const maxReply = 1 << 20

// Config says how to reach one Icinga 2 API.
type Config struct {
	// URL is the API's base, e.g. "https://icinga.example.com:5665"; a
	// path (behind a reverse proxy) is kept. It must be https and carry no
	// credentials.
	URL string
	// User and Password authenticate as an ApiUser with a password.
	User     string
	Password string
	// CertFile and KeyFile (PEM), or Certificate, authenticate by client
	// certificate (an ApiUser with client_cn). With both a password and a
	// certificate, Icinga uses the password.
	CertFile    string
	KeyFile     string
	Certificate *tls.Certificate
	// CAFile (PEM) or RootCAs is what the server's certificate must chain
	// to; with neither, the system's roots.
	CAFile  string
	RootCAs *x509.CertPool
	// ServerName is the name to verify in the server's certificate when it
	// differs from the URL's host (Icinga's certificates carry only the
	// node name).
	ServerName string
	// Timeout bounds each request, from dial to the last byte of the reply.
	Timeout time.Duration
	// MaxConcurrency bounds the requests in flight, and so the open
	// connections, to this API.
	MaxConcurrency int
}

// Client sends to one Icinga 2 API. It is safe for concurrent use, except
// that results for one object must not be sent by overlapping calls
// (SendBatch takes care of that).
type Client struct {
	base       string // URL without a trailing slash
	host       string // host:port, for messages
	user       string
	password   string
	serverName string // the name verified, for messages
	trust      string // where trust comes from, for messages
	timeout    time.Duration
	hc         *http.Client
	sem        chan struct{}

	mu     sync.Mutex
	newest map[string]time.Time // object -> latest execution start delivered
}

// New checks cfg and builds a Client. It reads the certificate files once.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("icinga2: url: %w", err)
	}
	switch {
	case u.Scheme != "https":
		return nil, fmt.Errorf("icinga2: url %q: the Icinga 2 API speaks https only", cfg.URL)
	case u.Host == "":
		return nil, fmt.Errorf("icinga2: url %q: no host", cfg.URL)
	case u.User != nil:
		return nil, errors.New("icinga2: url: put credentials in user and password, not in the URL")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("icinga2: url %q: no query or fragment allowed", cfg.URL)
	}
	tlsConf, trust, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.User == "" && len(tlsConf.Certificates) == 0 {
		return nil, errors.New("icinga2: neither a user nor a client certificate to authenticate with")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	c := &Client{
		base: strings.TrimSuffix(u.String(), "/"), host: u.Host,
		user: cfg.User, password: cfg.Password,
		serverName: orElse(cfg.ServerName, u.Hostname()), trust: trust,
		timeout: cfg.Timeout, sem: make(chan struct{}, cfg.MaxConcurrency),
		newest: map[string]time.Time{},
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	c.hc = &http.Client{
		Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			TLSClientConfig:     tlsConf,
			TLSHandshakeTimeout: cfg.Timeout,
			// Keep one idle connection per possible request in flight: a
			// new TLS connection per result is about 58 times slower.
			MaxIdleConns:        cfg.MaxConcurrency,
			MaxIdleConnsPerHost: cfg.MaxConcurrency,
			MaxConnsPerHost:     cfg.MaxConcurrency,
			IdleConnTimeout:     90 * time.Second,
		},
		// A redirect would turn a POST into a GET; show it as a reply.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tlsConfig builds the TLS side of cfg and says where trust comes from.
func tlsConfig(cfg Config) (*tls.Config, string, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName, RootCAs: cfg.RootCAs}
	trust := "the system's CA roots"
	if cfg.RootCAs != nil {
		trust = "the CA pool given"
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, "", fmt.Errorf("icinga2: ca_file: %w", err)
		}
		if tc.RootCAs == nil {
			tc.RootCAs = x509.NewCertPool()
		}
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, "", fmt.Errorf("icinga2: ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		trust = "ca_file " + cfg.CAFile
	}
	switch {
	case cfg.Certificate != nil:
		tc.Certificates = []tls.Certificate{*cfg.Certificate}
	case cfg.CertFile != "" || cfg.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("icinga2: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, trust, nil
}

// Close drops the idle connections. The Client stays usable.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// call sends one request to path (already escaped) and returns the HTTP
// status and body. Failures to get a reply come back as TLS or
// ErrUnavailable errors; ctx's own end comes back as ctx's error.
func (c *Client) call(ctx context.Context, method, path string, payload []byte) (int, []byte, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("icinga2: %s %s: %w", method, path, context.Cause(ctx))
	}
	defer func() { <-c.sem }()
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, fmt.Errorf("icinga2: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json") // without it, Icinga answers 400 in HTML
	req.Header.Set("Content-Type", "application/json")
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, c.transportError(ctx, method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return 0, nil, c.transportError(ctx, method, path, err)
	}
	// Drain what is left (a reply larger than maxReply), so the connection
	// can carry the next request.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReply))
	return resp.StatusCode, body, nil
}
