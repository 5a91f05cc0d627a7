package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/agent"
	"github.com/picket-monitoring/picket/internal/config"
)

// expiryWarning is how long before a certificate expires doctor starts to
// say so: long enough to renew it without haste.
const expiryWarning = 30 * 24 * time.Hour

// externals checks [externals] url: the TLS the agent would use, the
// server's certificate, and each host's file with its signature. Files are
// fetched with the agent's own puller into a temporary folder, so the
// agent's last-known-good in state_dir is neither read nor written.
func (d *doctor) externals(ctx context.Context) []finding {
	e := d.cfg.Externals
	if e.URL == "" {
		return nil
	}
	shown := redactURL(e.URL)
	if f := d.broken("externals", shown, "externals"); f != nil {
		return f
	}
	central, err := agent.CentralOf(d.cfg)
	if err != nil {
		return []finding{fail("externals", shown, err.Error(), "point ca_file, cert_file and key_file at readable PEM files, and state_dir's identity.key readable by the agent's user")}
	}
	tctx, cancel := context.WithTimeout(ctx, d.timeout)
	f := d.serverTLS(tctx, "externals", e.URL, central.TLS)
	cancel()
	out := []finding{f}
	if f.Status == statusFail {
		return append(out, finding{Status: statusSkip, Check: "externals", Subject: shown,
			Message: "the hosts' files were not fetched: no usable connection (above)"})
	}
	tmp, err := os.MkdirTemp("", "picket-doctor-")
	if err != nil {
		return append(out, fail("externals", shown, "temporary folder: "+err.Error(), "set TMPDIR to a writable folder"))
	}
	defer os.RemoveAll(tmp)
	p, err := externals.NewPuller(externals.Options{URL: e.URL, TLS: central.TLS, Proxy: central.Proxy, PublicKeys: central.Keys, Signer: central.Signer, CacheDir: tmp,
		Timeout: d.timeout, MaxSize: int64(e.MaxSize), RetryMax: -1, UserAgent: "picket-doctor/" + version})
	if err != nil {
		return append(out, fail("externals", shown, err.Error(), "correct externals.url"))
	}
	host, how := d.cfg.Hostname, ""
	if a := agent.AssignedHost(d.cfg.StateDir); a != "" {
		host, how = a, " (assigned at registration)"
	}
	for i, h := range append([]string{host}, e.MonitoredHosts...) {
		if i > 0 {
			how = " (monitored host)"
		}
		out = append(out, d.fetch(ctx, p, h, how)...)
	}
	return out
}

// fetch gets one host's externals and checks that their plugins are found.
func (d *doctor) fetch(ctx context.Context, p *externals.Puller, host, how string) []finding {
	subject := host + ".toml" + how
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	o := p.Fetch(ctx, host)
	switch o.Status {
	case externals.Updated, externals.Unchanged:
	case externals.NotFound:
		if d.cfg.Autoreg.URL != "" {
			return []finding{warn("externals", subject, "not registered yet: the server has no file for "+host+" (404)",
				"none needed: the agent registers through [autoreg] when it starts")}
		}
		return []finding{fail("externals", subject, "the server has no file for "+host+" (404), and there is no [autoreg] to register with",
			"put "+host+".toml into picket server's externals folder, or configure [autoreg]")}
	case externals.Rejected:
		return []finding{fail("externals", subject, "refused: "+o.Err.Error(),
			"correct the file on the server (picket externals check FILE shows why) or sign it with the key that matches public_key")}
	default:
		return []finding{fail("externals", subject, o.Err.Error(), "check externals.url and that picket server's [http] is up")}
	}
	sig := "not signed (no public_key set, so TLS alone vouches for it)"
	if o.Snapshot.Meta.Signed {
		sig = "signature verified"
	}
	out := []finding{pass("externals", subject, fmt.Sprintf("version %s, %s, %s", o.Snapshot.Version(), count(len(o.Snapshot.File.Checks), "check"), sig))}
	runner := agent.NewRunner(d.cfg)
	for _, c := range o.Snapshot.File.Checks {
		if _, err := runner.Command(c); err != nil {
			out = append(out, fail("externals", subject+" check "+c.Service, err.Error(),
				"install the plugin into one of plugin_dirs, or correct the command on the server"))
		}
	}
	return out
}

// serverTLS connects to u's host as the agent would and reports on its
// certificate: trusted, for the right name, and how long it stays valid.
func (d *doctor) serverTLS(ctx context.Context, check, raw string, tc *tls.Config) finding {
	shown := redactURL(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return fail(check, shown, err.Error(), "correct the url")
	}
	if u.Scheme == "http" {
		return warn(check, shown, "plain http: anyone on the way can read what the server sends (macros included); signatures only keep it from being changed",
			"serve it over https (picket server's [http] tls_cert and tls_key)")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	conf := tc.Clone()
	conf.ServerName = u.Hostname()
	conn, err := (&tls.Dialer{NetDialer: &net.Dialer{}, Config: conf}).DialContext(ctx, "tcp", addr)
	if err != nil {
		if msg, fix, ok := certProblem(err, d.now); ok {
			return fail(check, shown, msg, fix)
		}
		msg, fix := dialProblem(err, addr, d.timeout)
		return fail(check, shown, msg, fix)
	}
	defer conn.Close()
	st := conn.(*tls.Conn).ConnectionState()
	leaf := st.PeerCertificates[0]
	msg := fmt.Sprintf("%s, certificate for %s trusted", tls.VersionName(st.Version), certNames(leaf))
	return d.expiry(check, shown, msg, leaf.NotAfter, "renew the server's certificate (picket server's [http] tls_cert)")
}

// expiry adds a certificate's end to msg: a PASS, or a WARN within
// expiryWarning of it.
func (d *doctor) expiry(check, subject, msg string, notAfter time.Time, renew string) finding {
	left := notAfter.Sub(d.now)
	msg += fmt.Sprintf(", valid until %s (%d days)", notAfter.UTC().Format(time.DateOnly), int(left.Hours()/24))
	if left < expiryWarning {
		return warn(check, subject, msg, renew+" before then")
	}
	return pass(check, subject, msg)
}

// certProblem explains a failed certificate verification: expired, not
// yet valid, not trusted, or for another name.
func certProblem(err error, now time.Time) (msg, fix string, ok bool) {
	var ve *tls.CertificateVerificationError
	var leaf *x509.Certificate
	if errors.As(err, &ve) && len(ve.UnverifiedCertificates) > 0 {
		leaf = ve.UnverifiedCertificates[0]
	}
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var name x509.HostnameError
	switch {
	case leaf != nil && now.After(leaf.NotAfter):
		return "the server's certificate expired on " + leaf.NotAfter.UTC().Format(time.DateOnly),
			"renew the server's certificate (picket server's [http] tls_cert, or Icinga's)", true
	case leaf != nil && now.Before(leaf.NotBefore):
		return "the server's certificate is valid only from " + leaf.NotBefore.UTC().Format(time.DateOnly),
			"correct the clock of this host or of the server that issued it", true
	case errors.As(err, &name):
		return "the server's certificate is for " + certNames(name.Certificate) + ", not " + name.Host,
			"use a url with a name the certificate holds, or a certificate for " + name.Host, true
	case errors.As(err, &unknown):
		issuer := "an unknown issuer"
		if unknown.Cert != nil {
			issuer = unknown.Cert.Issuer.String()
		}
		return "the server's certificate is not signed by a CA this host trusts (issuer: " + issuer + ")",
			"set ca_file to the CA that signed it", true
	case errors.As(err, &invalid):
		return "the server's certificate is not valid: " + invalid.Error(), "renew or replace the server's certificate", true
	}
	return "", "", false
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "another name"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	if len(names) == 0 {
		return "no name"
	}
	return strings.Join(names, ", ")
}

// autoreg checks [autoreg]: the token can be read, and the endpoint
// answers. It sends a GET, which the registration endpoint refuses (405):
// only a POST registers, and doctor must not.
func (d *doctor) autoreg(ctx context.Context) []finding {
	a := d.cfg.Autoreg
	if a.URL == "" {
		return nil
	}
	shown := redactURL(a.URL)
	if f := d.broken("autoreg", shown, "autoreg", "externals.ca_file", "externals.cert_file", "externals.key_file"); f != nil {
		return f
	}
	token, err := config.ReadSecret(a.TokenFile)
	switch {
	case err != nil:
		return []finding{fail("autoreg", shown, "token_file: "+err.Error(), "make "+a.TokenFile+" readable by the agent's user")}
	case len(strings.TrimSpace(string(token))) == 0:
		return []finding{fail("autoreg", shown, "token_file "+a.TokenFile+" is empty", "write the registration token from picket server's tokens file into it")}
	}
	central, err := agent.CentralOf(d.cfg)
	if err != nil {
		return []finding{fail("autoreg", shown, err.Error(), "point externals.ca_file, cert_file and key_file at readable PEM files")}
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return []finding{fail("autoreg", shown, err.Error(), "correct autoreg.url")}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig, tr.Proxy = central.TLS, central.Proxy
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		if msg, fix, ok := certProblem(err, d.now); ok {
			return []finding{fail("autoreg", shown, msg, fix)}
		}
		msg, fix := dialProblem(err, req.URL.Host, d.timeout)
		return []finding{fail("autoreg", shown, msg, fix)}
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusMethodNotAllowed:
		return []finding{pass("autoreg", shown, "token file readable; the endpoint answers (405 to a GET, as it should: only a POST registers); the token itself is checked when the agent registers")}
	case resp.StatusCode == http.StatusNotFound:
		return []finding{fail("autoreg", shown, "nothing there (404): not a registration endpoint",
			"use picket server's https://HOST:PORT/v1/register, on a server with a [registration] section")}
	case resp.StatusCode >= 500:
		return []finding{fail("autoreg", shown, "the server answers "+resp.Status, "see the server's log")}
	}
	return []finding{warn("autoreg", shown, "answers "+resp.Status+" to a GET, where picket server's endpoint answers 405: is this the registration endpoint?",
		"use picket server's https://HOST:PORT/v1/register")}
}

// redactURL hides a password written into a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}
