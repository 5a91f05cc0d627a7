package autoreg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/picket-monitoring/picket/internal/signing"
)

// Defaults of Client.
const (
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultAttemptTimeout = 30 * time.Second
)

// maxResponse bounds what the client reads of any answer: a registration
// response is a few hundred bytes, and a misconfigured URL pointing at a
// large download must not fill the agent's memory.
const maxResponse = 1 << 20

// Client registers an agent with the server. Its zero value is not
// usable: URL and TokenFile are required.
type Client struct {
	URL string
	// TokenFile holds the bearer token. It is read again at every
	// attempt, so an administrator can fix it while the agent waits;
	// one trailing newline is dropped. With a Signer, a missing file is
	// no error: an agent whose key is bound needs no token any more.
	TokenFile string
	// Signer, when set, is the agent's own key: the request carries its
	// public key and is signed with it, and the server binds the host
	// name to it (or checks it is the bound one).
	Signer *signing.Signer
	// HTTP carries the CA file and client certificate. Nil: a client
	// that requires TLS 1.2 at least. Whatever its CheckRedirect says, a
	// redirect from https to http is never followed, because the token
	// would travel in clear.
	HTTP *http.Client
	// MaxBackoff caps the wait between attempts (default 5m). Waits
	// grow as the Fibonacci sequence from 1s, each cut by up to half at
	// random so that agents restarted together do not retry together.
	MaxBackoff time.Duration
	// AttemptTimeout bounds one attempt (default 30s).
	AttemptTimeout time.Duration
	Logger         *slog.Logger

	// sleep waits between attempts; tests replace it to record the
	// backoff without waiting.
	sleep func(ctx context.Context, d time.Duration) error
}

// errInsecureRedirect is why a redirect to http is refused.
var errInsecureRedirect = errors.New("redirect from https to http refused: the token would be sent in clear")

// Register posts req until the server accepts it or ctx ends. Every failed
// attempt is logged with its reason; the token never is. When ctx ends the
// error wraps ctx's error and says what the last attempt ran into.
func (c *Client) Register(ctx context.Context, req Request) (Response, error) {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c.Signer != nil {
		req.PublicKey = signing.FormatPublicKey(c.Signer.PublicKey())
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("register: encode request: %w", err)
	}
	hc, closeIdle := c.httpClient()
	defer closeIdle()
	sleep := c.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	maxWait := c.MaxBackoff
	if maxWait <= 0 {
		maxWait = DefaultMaxBackoff
	}
	where := redactURL(c.URL)
	if u, err := url.Parse(c.URL); err == nil && u.Scheme == "http" {
		log.Warn("registration URL is not https: the token travels in clear", "url", where)
	}
	b := backoff{max: maxWait}
	for attempt := 1; ; attempt++ {
		resp, retryAfter, err := c.attempt(ctx, hc, body)
		if err == nil {
			log.Info("registered", "url", where, "host", resp.Host, "profile", resp.Profile, "status", resp.Status, "attempts", attempt)
			return resp, nil
		}
		if ctx.Err() != nil {
			return Response{}, fmt.Errorf("register at %s: %w (last attempt: %v)", where, ctx.Err(), err)
		}
		wait := jitter(b.next())
		if retryAfter > wait {
			wait = min(retryAfter, maxWait)
		}
		log.Warn("registration failed", "url", where, "attempt", attempt, "reason", err.Error(), "retry_in", wait.Round(time.Millisecond).String())
		if serr := sleep(ctx, wait); serr != nil {
			return Response{}, fmt.Errorf("register at %s: %w (last attempt: %v)", where, serr, err)
		}
	}
}

// attempt makes one registration request. retryAfter is the server's
// Retry-After, when it sent one.
func (c *Client) attempt(ctx context.Context, hc *http.Client, body []byte) (_ Response, retryAfter time.Duration, _ error) {
	token, err := readToken(c.TokenFile)
	if err != nil && !(c.Signer != nil && (c.TokenFile == "" || errors.Is(err, fs.ErrNotExist))) {
		return Response{}, 0, err
	}
	timeout := c.AttemptTimeout
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return Response{}, 0, fmt.Errorf("bad registration URL: %w", err)
	}
	if token != "" {
		hreq.Header.Set("Authorization", "Bearer "+token)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "picket-agent")
	hresp, err := hc.Do(hreq)
	if err != nil {
		switch {
		case errors.Is(err, errInsecureRedirect):
			return Response{}, 0, errInsecureRedirect
		case errors.Is(err, syscall.ECONNREFUSED):
			return Response{}, 0, fmt.Errorf("connection refused: %w", err)
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return Response{}, 0, fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		return Response{}, 0, err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponse))
	if err != nil {
		return Response{}, 0, fmt.Errorf("read answer (status %d): %w", hresp.StatusCode, err)
	}
	msg := serverMessage(data)
	switch code := hresp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusUnauthorized:
		return Response{}, 0, fmt.Errorf("refused (401): %s (token file %s)", msg, c.TokenFile)
	case code == http.StatusForbidden:
		return Response{}, 0, fmt.Errorf("refused (403): %s", msg)
	case code == http.StatusTooManyRequests:
		return Response{}, parseRetryAfter(hresp.Header.Get("Retry-After")), fmt.Errorf("rate limited by the server (429)")
	case code >= 500:
		return Response{}, parseRetryAfter(hresp.Header.Get("Retry-After")), fmt.Errorf("server error (%d): %s", code, msg)
	default:
		return Response{}, 0, fmt.Errorf("unexpected status %d: %s", code, msg)
	}
	var resp Response
	if err := json.Unmarshal(data, &resp); err != nil {
		return Response{}, 0, fmt.Errorf("bad answer from the server: %w", err)
	}
	// The agent names files after this: a hostile or broken server must
	// not make it write outside its folders.
	if !ValidHost(resp.Host) {
		return Response{}, 0, fmt.Errorf("server assigned an invalid host name %q", resp.Host)
	}
	resp.ServerPins = nil
	if hresp.TLS != nil {
		for _, cert := range hresp.TLS.PeerCertificates {
			resp.ServerPins = append(resp.ServerPins, SPKIPin(cert))
		}
	}
	return resp, 0, nil
}

// httpClient returns the client to use and a function that closes the
// idle connections of a transport this call created.
func (c *Client) httpClient() (*http.Client, func()) {
	closeIdle := func() {}
	var base http.Client
	if c.HTTP != nil {
		base = *c.HTTP
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		base.Transport = tr
		closeIdle = tr.CloseIdleConnections
	}
	if c.Signer != nil {
		base.Transport = c.Signer.Transport(base.Transport)
	}
	next := base.CheckRedirect
	base.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.URL.Scheme != "https" {
			for _, v := range via {
				if v.URL.Scheme == "https" {
					return errInsecureRedirect
				}
			}
		}
		if next != nil {
			return next(r, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &base, closeIdle
}

// SPKIPin is a certificate's pin: the standard base64 of the SHA-256 of
// its public key (SubjectPublicKeyInfo), as HPKP and curl's --pinnedpubkey
// write it; it stays the same when a certificate is renewed with its key.
func SPKIPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// readToken reads the bearer token. A token that would not survive as an
// HTTP header value is refused here, with a reason that does not quote it.
func readToken(path string) (string, error) {
	if path == "" {
		return "", errors.New("no token file configured")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	for _, ch := range b {
		if ch <= ' ' || ch == 0x7f {
			return "", fmt.Errorf("token file %s holds spaces, control characters or more than one line", path)
		}
	}
	return string(b), nil
}

// serverMessage extracts the reason from an error answer, bounded so a
// proxy's HTML page does not flood the log.
func serverMessage(data []byte) string {
	var e errorBody
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return truncate(e.Error, 200)
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "(no message)"
	}
	return strings.ToValidUTF8(truncate(s, 200), "?")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// backoff yields Fibonacci waits from 1s (1s, 1s, 2s, 3s, 5s, 8s, ...),
// capped at max: slower growth than doubling, so a server back after a
// minute is found again soon, while thousands of agents still spread out.
type backoff struct {
	max  time.Duration
	a, b time.Duration
}

func (b *backoff) next() time.Duration {
	if b.b == 0 {
		b.a, b.b = 0, time.Second
	}
	d := min(b.b, b.max)
	if b.b < b.max {
		b.a, b.b = b.b, b.a+b.b
	}
	return d
}

// jitter returns a wait in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return d - half + rand.N(half+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errorBody is the JSON the handler answers failures with.
type errorBody struct {
	Error string `json:"error"`
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidHost reports whether name can be a host's name: Nagios and NSCA
// take it (at most 63 bytes), and it is safe as a file name on every
// platform, since the server stores <name>.toml and the agent trusts it.
func ValidHost(name string) bool {
	return hostRE.MatchString(name) && !strings.Contains(name, "..") && !strings.HasSuffix(name, ".")
}

// SaveAssignment records the server's answer, so a restarted agent keeps
// its name without registering again. It holds no secret: mode 0644.
func SaveAssignment(path string, r Response) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("save assignment: %w", err)
	}
	if err := saveFile(path, append(data, '\n')); err != nil {
		return fmt.Errorf("save assignment: %w", err)
	}
	return nil
}

// LoadAssignment reads what SaveAssignment wrote. When there is none the
// error satisfies errors.Is(err, fs.ErrNotExist).
func LoadAssignment(path string) (Response, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Response{}, fmt.Errorf("load assignment: %w", err)
	}
	var r Response
	if err := json.Unmarshal(data, &r); err != nil {
		return Response{}, fmt.Errorf("load assignment %s: %w", path, err)
	}
	if !ValidHost(r.Host) {
		return Response{}, fmt.Errorf("load assignment %s: invalid host name %q", path, r.Host)
	}
	return r, nil
}
