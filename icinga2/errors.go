package icinga2

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
)

// The kinds of failure, matched with errors.Is.
var (
	// ErrUnauthorized: 401, the user, password or client certificate was
	// not accepted.
	ErrUnauthorized = errors.New("unauthorized (check user, password or client certificate)")
	// ErrUnknownObject: 404, Icinga has no such host or service, or the
	// user may not act on it (Icinga answers 404, not 403, then); for a
	// new service, its host does not exist. Register the object rather
	// than resending.
	ErrUnknownObject = errors.New("unknown object")
	// ErrBadRequest: 400, or another refusal of this request that
	// resending cannot change (403 passive checks disabled, an object
	// Icinga will not create).
	ErrBadRequest = errors.New("request refused")
	// ErrServer: a 5xx answer, or a reply that makes no sense.
	ErrServer = errors.New("server error")
	// ErrUnreachable: Icinga answered 200 but ignored the result because
	// the object is unreachable (every dependency with disable_checks has
	// failed). Resending changes nothing until the parent recovers.
	ErrUnreachable = errors.New("result ignored: object unreachable")
	// ErrOutdated: the result is older than one already delivered for the
	// object, so Icinga would drop it (2.13 answers 200 and drops it
	// silently, so the client does not send it; newer versions answer
	// 409).
	ErrOutdated = errors.New("result older than one already delivered")
	// ErrUnavailable: no reply (connection refused or reset, timeout).
	ErrUnavailable = errors.New("API unavailable")
	// ErrNotSent: SendBatch did not send this result, because an earlier
	// one for the same object failed or the batch was stopped.
	ErrNotSent = errors.New("not sent")
	// ErrInvalid: the request was not made because an argument is wrong.
	ErrInvalid = errors.New("invalid argument")

	// ErrTLS: the TLS handshake failed. ErrUntrustedCertificate and
	// ErrCertificateName are the two common causes and match ErrTLS too.
	ErrTLS                  = errors.New("TLS handshake failed")
	ErrUntrustedCertificate = errors.New("server certificate not trusted")
	ErrCertificateName      = errors.New("server certificate is for another name")
)

// ReplyError is an answer from Icinga that is not a success.
type ReplyError struct {
	Kind       error  // one of the Err* kinds above
	Op         string // "process-check-result", "create host", "create service"
	Host       string
	Service    string // empty for a host
	HTTPStatus int
	Code       int      // Icinga's code for the object (inside the reply), else the HTTP status
	Status     string   // Icinga's status text
	Errors     []string // Icinga's detailed errors (object creation)
}

func (e *ReplyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "icinga2: %s %s: %v (%d", e.Op, object(e.Host, e.Service), e.Kind, e.Code)
	if e.HTTPStatus != e.Code {
		fmt.Fprintf(&b, ", HTTP %d", e.HTTPStatus)
	}
	if e.Status != "" {
		b.WriteString(" " + e.Status)
	}
	if len(e.Errors) > 0 {
		b.WriteString(": " + strings.Join(e.Errors, "; "))
	}
	b.WriteString(")")
	return b.String()
}

func (e *ReplyError) Unwrap() error { return e.Kind }

// TLSError is a failed TLS handshake with the API.
type TLSError struct {
	Kind   error // ErrUntrustedCertificate, ErrCertificateName or ErrTLS
	Addr   string
	Detail string // what to do about it
	Err    error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("icinga2: TLS with %s: %v: %s", e.Addr, e.Kind, e.Detail)
}

func (e *TLSError) Unwrap() []error { return []error{e.Kind, e.Err} }

func (e *TLSError) Is(target error) bool { return target == ErrTLS }

// transportError names why no reply came back.
func (c *Client) transportError(ctx context.Context, method, path string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("icinga2: %s %s: %w", method, path, context.Cause(ctx))
	}
	if t := c.tlsError(err); t != nil {
		return t
	}
	return fmt.Errorf("icinga2: %s %s%s: %w: %w", method, c.host, path, ErrUnavailable, err)
}

func (c *Client) tlsError(err error) *TLSError {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		op       *net.OpError
		record   tls.RecordHeaderError
	)
	t := &TLSError{Kind: ErrTLS, Addr: c.host, Err: err}
	switch {
	case errors.As(err, &unknown):
		t.Kind = ErrUntrustedCertificate
		t.Detail = fmt.Sprintf("it is not signed by a CA in %s (%v)", c.trust, unknown)
	case errors.As(err, &hostname):
		t.Kind = ErrCertificateName
		t.Detail = fmt.Sprintf("it is for %s, not %q: set server_name to the name in Icinga's certificate (its node name)",
			certNames(hostname.Certificate), c.serverName)
	case errors.As(err, &invalid):
		t.Kind = ErrUntrustedCertificate
		t.Detail = invalid.Error()
	case errors.As(err, &verify):
		t.Kind = ErrUntrustedCertificate
		t.Detail = verify.Error()
	case errors.As(err, &op) && op.Op == "remote error":
		// crypto/tls reports an alert from the server this way.
		t.Detail = fmt.Sprintf("the server refused the handshake (%v): is there a client certificate, signed by Icinga's CA?", op.Err)
	case errors.As(err, &record), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http reports a plain-HTTP server in text only.
		t.Detail = "the server does not speak TLS here: is this the API port (5665)?"
	default:
		return nil
	}
	return t
}

func certNames(cert *x509.Certificate) string {
	if cert == nil {
		return "another name"
	}
	names := cert.DNSNames
	if len(names) == 0 && cert.Subject.CommonName != "" {
		names = []string{cert.Subject.CommonName}
	}
	if len(names) == 0 {
		return "no name"
	}
	return strings.Join(names, ", ")
}

// Retryable says whether sending the same request again later may succeed
// without any change: no reply, a server error, a result not sent, or a
// request cut short by its context. A 401, 404, 400, TLS failure,
// unreachable or outdated result will be answered the same way until
// someone changes the configuration or the objects.
func Retryable(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrUnknownObject), errors.Is(err, ErrBadRequest), errors.Is(err, ErrInvalid):
		return false // also when not sent because of such an earlier answer
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrServer), errors.Is(err, ErrNotSent),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return false
}

// Kind names the kind of err, for a log line once per kind or a metric
// label: "" for nil, else one of unauthorized, unknown_object, bad_request,
// server_error, unreachable, outdated, tls_untrusted, tls_name, tls,
// unavailable, not_sent, invalid, canceled, other.
func Kind(err error) string {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	if err == nil {
		return ""
	}
	return "other"
}

// kinds in the order Kind tests them: the specific TLS kinds before ErrTLS.
var kinds = []struct {
	err  error
	name string
}{
	{ErrNotSent, "not_sent"}, {ErrUnauthorized, "unauthorized"}, {ErrUnknownObject, "unknown_object"},
	{ErrBadRequest, "bad_request"}, {ErrServer, "server_error"}, {ErrUnreachable, "unreachable"},
	{ErrOutdated, "outdated"}, {ErrUntrustedCertificate, "tls_untrusted"}, {ErrCertificateName, "tls_name"},
	{ErrTLS, "tls"}, {ErrUnavailable, "unavailable"}, {ErrInvalid, "invalid"},
	{context.Canceled, "canceled"}, {context.DeadlineExceeded, "canceled"},
}

func object(host, service string) string {
	if service == "" {
		return host
	}
	return host + "!" + service
}
