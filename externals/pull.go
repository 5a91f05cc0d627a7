package externals

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/picket-monitoring/picket/internal/signing"
)

// SignatureHeader carries a file's signature in the response that carries
// the file, so the two always belong together.
const SignatureHeader = "X-Picket-Signature"

// Defaults for Options.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultRetryMax     = 3
	DefaultRetryWaitMax = 30 * time.Second

	// retryWaitMin is the first backoff step; it shrinks to RetryWaitMax
	// when that is smaller.
	retryWaitMin = time.Second
	maxRedirects = 5
)

// Options configure a Puller.
type Options struct {
	// URL is the base the host's file is pulled from: URL + host +
	// ".toml". A missing trailing "/" is added. Plain http is refused
	// unless PublicKeys are set: the file names commands this host runs.
	URL string
	// TLS is the client TLS config (RootCAs, client certificate, pins);
	// nil means Go's defaults. TLS 1.2 is the minimum whatever it says.
	TLS *tls.Config
	// Proxy picks the proxy of each request; nil means the environment's
	// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), as for any Go client.
	Proxy func(*http.Request) (*url.URL, error)
	// PublicKeys, when set, make a valid v2 signature by one of them
	// mandatory, with a serial no older than the last accepted one's.
	// The server is told their fingerprints (signing.TrustHeader), so
	// one rotating its key signs with the new key once it is trusted.
	PublicKeys []ed25519.PublicKey
	// Signer, when set, signs every request as the agent's host: the
	// server serves a host's externals only to the key bound to it.
	Signer *signing.Signer
	// CacheDir holds the last-known-good files; created if missing.
	CacheDir string
	// Timeout bounds one Fetch, all retries included; default 60s.
	Timeout time.Duration
	// MaxSize bounds the file; default DefaultMaxSize.
	MaxSize int64
	// RetryMax is how many times a failed request is retried (connection
	// errors, 5xx, 429); default 3, negative for none.
	RetryMax int
	// RetryWaitMax caps the wait between attempts, including a server's
	// Retry-After; default 30s.
	RetryWaitMax time.Duration
	// Logger gets each attempt and retry at debug level, and trouble
	// with the cache at warn and error level; the fetch's result itself
	// is the caller's to log, from the Outcome.
	Logger    *slog.Logger
	UserAgent string
}

// Puller fetches a host's externals and keeps the last good ones. It is
// safe for concurrent use; fetches of one host are serialized.
type Puller struct {
	base    string // with trailing slash
	keys    []ed25519.PublicKey
	trust   string // the TrustHeader value
	dir     string
	timeout time.Duration
	maxSize int64
	ua      string
	log     *slog.Logger
	client  *retryablehttp.Client

	mu sync.RWMutex // guards the cache files

	hostMu sync.Mutex
	hosts  map[string]*sync.Mutex
}

// NewPuller checks o and builds a Puller. It does no I/O.
func NewPuller(o Options) (*Puller, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("externals url: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("externals url %q: want https://host/path/", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("externals url %q: no host", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("externals url %q: the host's file name is appended to the path, so no query or fragment", u.Redacted())
	case u.Scheme == "http" && len(o.PublicKeys) == 0:
		return nil, fmt.Errorf("externals url %q: plain http without a public key would let anyone on the network choose the commands this host runs; use https or set a public key", u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	for _, k := range o.PublicKeys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("externals public key is %d bytes, not %d", len(k), ed25519.PublicKeySize)
		}
	}
	if o.CacheDir == "" {
		return nil, errors.New("externals cache directory not set")
	}
	if o.Timeout < 0 || o.MaxSize < 0 || o.RetryWaitMax < 0 {
		return nil, errors.New("externals options: negative timeout, size or wait")
	}
	p := &Puller{
		base:    u.String(),
		keys:    o.PublicKeys,
		dir:     o.CacheDir,
		timeout: o.Timeout,
		maxSize: o.MaxSize,
		ua:      o.UserAgent,
		log:     o.Logger,
		hosts:   map[string]*sync.Mutex{},
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if p.maxSize == 0 {
		p.maxSize = DefaultMaxSize
	}
	if p.ua == "" {
		p.ua = "picket"
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if len(p.keys) > 0 {
		p.trust = TrustHeaderValue(p.keys)
	}
	retryMax := o.RetryMax
	switch {
	case retryMax == 0:
		retryMax = DefaultRetryMax
	case retryMax < 0:
		retryMax = 0
	}
	waitMax := o.RetryWaitMax
	if waitMax == 0 {
		waitMax = DefaultRetryWaitMax
	}

	var tc *tls.Config
	if o.TLS != nil {
		tc = o.TLS.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	proxy := o.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	transport := &http.Transport{
		Proxy: proxy,
		// Per attempt, so a dead address still leaves time for retries
		// within Timeout.
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        4,
		IdleConnTimeout:     90 * time.Second,
	}
	var rt http.RoundTripper = transport
	if o.Signer != nil {
		// Under the retries: every attempt is signed anew.
		rt = o.Signer.Transport(transport)
	}
	p.client = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport:     rt,
			CheckRedirect: checkRedirect,
		},
		Logger:       retryLogger{p.log},
		RetryWaitMin: min(retryWaitMin, waitMax),
		RetryWaitMax: waitMax,
		RetryMax:     retryMax,
		CheckRetry:   retryPolicy,
		Backoff:      backoff,
		ErrorHandler: giveUp,
	}
	return p, nil
}

// Status is what a Fetch found.
type Status int

const (
	// Unchanged: the server confirmed the last known good is current.
	Unchanged Status = iota + 1
	// Updated: a new, valid (and verified) file is now the last known
	// good.
	Updated
	// NotFound: the server has no file for this host (404): it is not
	// registered.
	NotFound
	// Rejected: a file came, but is invalid, too large, badly signed or
	// older than the one accepted last, or could not be stored; the host
	// name itself may be invalid.
	Rejected
	// Unreachable: no usable answer: connection errors, timeouts, 5xx
	// and 429 after retries, or another status than 200, 304, 401, 403
	// and 404.
	Unreachable
	// Denied: the server refuses this agent the file (401, 403): the
	// request is not signed by the key the host is bound to, or the host
	// is not bound (any more) and must register.
	Denied
)

func (s Status) String() string {
	switch s {
	case Unchanged:
		return "unchanged"
	case Updated:
		return "updated"
	case NotFound:
		return "not found"
	case Rejected:
		return "rejected"
	case Unreachable:
		return "unreachable"
	case Denied:
		return "denied"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Outcome is the result of one Fetch.
type Outcome struct {
	Status Status
	// Snapshot is the new last known good for Updated (already stored),
	// and the last known good with CheckedAt updated for Unchanged; nil
	// otherwise.
	Snapshot *Snapshot
	// Err says why, for NotFound, Rejected and Unreachable, in words fit
	// for a Nagios service output.
	Err error
	// ClockOffset is the server's clock minus this host's, from the
	// answer's Date header (ClockKnown), to within about a second: 0 when
	// the two are closer than serverClock can tell.
	ClockOffset time.Duration
	ClockKnown  bool
}

// serverClock is the offset of the clock that wrote an HTTP Date header
// from ours, received at now. Date has whole seconds, so the server's
// clock was within a second after it (plus the answer's way back): the
// middle of that second is taken, and an offset under two seconds is no
// offset at all.
func serverClock(date string, now time.Time) (time.Duration, bool) {
	if date == "" {
		return 0, false
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return 0, false
	}
	off := t.Add(500 * time.Millisecond).Sub(now)
	if off.Abs() < 2*time.Second {
		off = 0
	}
	return off, true
}

// LastKnownGood returns the host's cached externals, re-parsed, and with
// PublicKeys set, re-verified: a file none of the current keys vouches
// for (after a key was dropped, say) is an error, not a snapshot. With no
// cache yet, errors.Is(err, fs.ErrNotExist) holds.
func (p *Puller) LastKnownGood(host string) (*Snapshot, error) {
	if !ValidHost(host) {
		return nil, fmt.Errorf("externals: invalid host name %q", host)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.load(host)
}

func (p *Puller) hostLock(host string) *sync.Mutex {
	p.hostMu.Lock()
	defer p.hostMu.Unlock()
	m := p.hosts[host]
	if m == nil {
		m = &sync.Mutex{}
		p.hosts[host] = m
	}
	return m
}

// Fetch asks the server for host's externals, conditionally when a last
// known good exists, and stores what it gets only if it passes every
// check. It never returns with the cache partly changed.
func (p *Puller) Fetch(ctx context.Context, host string) Outcome {
	if !ValidHost(host) {
		return Outcome{Status: Rejected, Err: fmt.Errorf("externals: invalid host name %q: letters, digits, '.', '_', '-' only, at most 63", host)}
	}
	lock := p.hostLock(host)
	lock.Lock()
	defer lock.Unlock()

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// An agent fetches every few minutes; a kept-alive connection would
	// only hold a goroutine and a socket until the next time.
	defer p.client.HTTPClient.CloseIdleConnections()

	o := p.fetch(ctx, host)
	if o.Status == Unreachable && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		o.Err = fmt.Errorf("no complete answer within %v: %w", p.timeout, o.Err)
	}
	return o
}

func (p *Puller) fetch(ctx context.Context, host string) (o Outcome) {
	fileURL := p.base + host + ".toml"
	shown := redact(fileURL)

	lkg, err := p.LastKnownGood(host)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		p.log.Warn("externals: ignoring the last known good for this fetch", "host", host, "err", err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, fileURL, nil)
	if err != nil {
		return Outcome{Status: Unreachable, Err: fmt.Errorf("GET %s: %w", shown, err)}
	}
	req.Header.Set("User-Agent", p.ua)
	if p.trust != "" {
		req.Header.Set(signing.TrustHeader, p.trust)
	}
	// A cache from another URL (the config changed) proves nothing about
	// what this one serves.
	if lkg != nil && lkg.Meta.URL == fileURL {
		if lkg.Meta.ETag != "" {
			req.Header.Set("If-None-Match", lkg.Meta.ETag)
		}
		if lkg.Meta.LastModified != "" {
			req.Header.Set("If-Modified-Since", lkg.Meta.LastModified)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return Outcome{Status: Unreachable, Err: fmt.Errorf("GET %s: %w", shown, err)}
	}
	defer resp.Body.Close()

	now := time.Now().UTC()
	if off, ok := serverClock(resp.Header.Get("Date"), now); ok {
		defer func() { o.ClockOffset, o.ClockKnown = off, true }()
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		if lkg == nil || lkg.Meta.URL != fileURL {
			return Outcome{Status: Unreachable, Err: fmt.Errorf("GET %s: server answered 304 Not Modified to an unconditional request", shown)}
		}
		return p.confirm(lkg, resp, now)
	case http.StatusNotFound:
		return Outcome{Status: NotFound, Err: fmt.Errorf("not registered: GET %s: server answered %s", shown, resp.Status)}
	case http.StatusUnauthorized, http.StatusForbidden:
		return Outcome{Status: Denied, Err: fmt.Errorf("GET %s: server answered %s: %s", shown, resp.Status, serverMessage(resp))}
	default:
		return Outcome{Status: Unreachable, Err: fmt.Errorf("GET %s: server answered %s", shown, resp.Status)}
	}

	data, err := readLimited(resp, p.maxSize)
	if err != nil {
		if tl := (*tooLargeError)(nil); errors.As(err, &tl) {
			return Outcome{Status: Rejected, Err: fmt.Errorf("%s: %w", shown, err)}
		}
		return Outcome{Status: Unreachable, Err: fmt.Errorf("GET %s: reading the body: %w", shown, err)}
	}

	meta := Meta{
		URL:          fileURL,
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		SHA256:       sha256Hex(data),
		Signed:       len(p.keys) > 0,
		FetchedAt:    now,
		CheckedAt:    now,
	}
	var sigFile []byte
	if len(p.keys) > 0 {
		sig, o := p.signature(ctx, resp, fileURL)
		if sig == nil {
			return o
		}
		if o := p.verify(shown, host, data, sig, lkg, &meta); o.Status != 0 {
			return o
		}
		sigFile = append(bytes.TrimSpace(sig), '\n')
	}
	if lkg != nil && lkg.Meta.SHA256 == meta.SHA256 && lkg.Meta.Signed == meta.Signed {
		// Same content: keep FetchedAt, but take the validators, so the
		// next request can be answered with 304.
		meta.FetchedAt = lkg.Meta.FetchedAt
		s := *lkg
		s.Meta = meta
		var err error
		if sigFile == nil || meta.Serial == lkg.Meta.Serial && meta.Key == lkg.Meta.Key && meta.Next == lkg.Meta.Next {
			err = p.storeMeta(host, meta)
		} else {
			// A new signature of the same file (a new key, a rotation
			// announced): keep it, so the cache verifies with the keys
			// the server uses now.
			err = p.store(&s, sigFile)
		}
		if err != nil {
			p.log.Warn("externals: cannot record the confirmation in the cache", "host", host, "err", err)
		}
		return Outcome{Status: Unchanged, Snapshot: &s}
	}

	f, err := Parse(shown, data, host)
	if err != nil {
		return Outcome{Status: Rejected, Err: err}
	}
	s := &Snapshot{Host: host, Data: data, File: f, Meta: meta}
	if err := p.store(s, sigFile); err != nil {
		p.log.Error("externals: cannot store a valid file in the cache", "host", host, "dir", p.dir, "err", err)
		return Outcome{Status: Rejected, Err: fmt.Errorf("%s is valid but cannot be stored in the cache %s (kept the previous one): %w", shown, p.dir, err)}
	}
	return Outcome{Status: Updated, Snapshot: s}
}

// confirm records a 304: the last known good is current.
func (p *Puller) confirm(lkg *Snapshot, resp *http.Response, now time.Time) Outcome {
	s := *lkg
	s.Meta.CheckedAt = now
	// A 304 may carry updated validators (RFC 9110, 15.4.5).
	if v := resp.Header.Get("ETag"); v != "" {
		s.Meta.ETag = v
	}
	if v := resp.Header.Get("Last-Modified"); v != "" {
		s.Meta.LastModified = v
	}
	if err := p.storeMeta(lkg.Host, s.Meta); err != nil {
		p.log.Warn("externals: cannot record the confirmation in the cache", "host", lkg.Host, "err", err)
	}
	return Outcome{Status: Unchanged, Snapshot: &s}
}

// signature takes the file's signature from its response, else from
// <file>.sig. On failure it returns nil and the Outcome to report.
func (p *Puller) signature(ctx context.Context, resp *http.Response, fileURL string) ([]byte, Outcome) {
	if h := resp.Header.Get(SignatureHeader); h != "" {
		return []byte(h), Outcome{}
	}
	sigURL := fileURL + ".sig"
	shown := redact(sigURL)
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, sigURL, nil)
	if err != nil {
		return nil, Outcome{Status: Unreachable, Err: fmt.Errorf("GET %s: %w", shown, err)}
	}
	req.Header.Set("User-Agent", p.ua)
	req.Header.Set(signing.TrustHeader, p.trust)
	sresp, err := p.client.Do(req)
	if err != nil {
		return nil, Outcome{Status: Unreachable, Err: fmt.Errorf("signature required: GET %s: %w", shown, err)}
	}
	defer sresp.Body.Close()
	switch sresp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, Outcome{Status: Rejected, Err: fmt.Errorf("signature required, but the server has none: no %s header, and GET %s: %s", SignatureHeader, shown, sresp.Status)}
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, Outcome{Status: Denied, Err: fmt.Errorf("GET %s: server answered %s: %s", shown, sresp.Status, serverMessage(sresp))}
	default:
		return nil, Outcome{Status: Unreachable, Err: fmt.Errorf("signature required: GET %s: server answered %s", shown, sresp.Status)}
	}
	sig, err := readLimited(sresp, signing.MaxSigSize)
	if err != nil {
		if tl := (*tooLargeError)(nil); errors.As(err, &tl) {
			return nil, Outcome{Status: Rejected, Err: fmt.Errorf("%s: %w", shown, err)}
		}
		return nil, Outcome{Status: Unreachable, Err: fmt.Errorf("GET %s: reading the body: %w", shown, err)}
	}
	if len(sig) == 0 {
		return nil, Outcome{Status: Rejected, Err: fmt.Errorf("%s: signature is empty", shown)}
	}
	return sig, Outcome{}
}

// verify checks a downloaded file's v2 signature and that it is not
// older than lkg, the version the agent runs: a file signed earlier with a
// valid signature is exactly what a replay looks like. On success it
// records the serial and keys in meta and returns a zero Outcome.
func (p *Puller) verify(shown, host string, data, sigText []byte, lkg *Snapshot, meta *Meta) Outcome {
	sig, err := signing.ParseSignature(sigText)
	if err != nil {
		return Outcome{Status: Rejected, Err: fmt.Errorf("%s: %w", shown, err)}
	}
	key, err := sig.Verify(p.keys, host, data)
	if err != nil {
		return Outcome{Status: Rejected, Err: fmt.Errorf("%s: %w", shown, err)}
	}
	if lkg != nil && lkg.Meta.SHA256 != meta.SHA256 {
		switch {
		case sig.Serial < lkg.Meta.Serial:
			return Outcome{Status: Rejected, Err: fmt.Errorf("%s: an older signed file (serial %d) than the one this agent runs (serial %d): refused as a replay (or picket server's clock went back)",
				shown, sig.Serial, lkg.Meta.Serial)}
		case sig.Serial == lkg.Meta.Serial:
			return Outcome{Status: Rejected, Err: fmt.Errorf("%s: another file with the serial (%d) of the one this agent runs: refused as a replay", shown, sig.Serial)}
		}
	}
	meta.Serial, meta.Key, meta.Next = sig.Serial, signing.Fingerprint(key), sig.Next
	if lkg != nil && lkg.Meta.SHA256 == meta.SHA256 && sig.Serial < lkg.Meta.Serial {
		// The same file signed earlier: harmless, but the agent keeps
		// the highest serial it has seen.
		meta.Serial, meta.Key, meta.Next = lkg.Meta.Serial, lkg.Meta.Key, lkg.Meta.Next
	}
	return Outcome{}
}

// serverMessage is the start of an error answer's body, for the agent's
// own service output: picket server says there why it refused.
func serverMessage(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if msg == "" {
		return "(no message)"
	}
	return msg
}

// tooLargeError is a body over its limit: the server's content is at
// fault, not the connection.
type tooLargeError struct{ limit, length int64 }

func (e *tooLargeError) Error() string {
	if e.length > 0 {
		return fmt.Sprintf("larger than %s (Content-Length %d)", formatSize(e.limit), e.length)
	}
	return "larger than " + formatSize(e.limit)
}

// readLimited reads a body of at most limit bytes, refusing a larger one
// by its Content-Length before reading any of it.
func readLimited(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, &tooLargeError{limit, resp.ContentLength}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &tooLargeError{limit: limit}
	}
	return data, nil
}

// formatSize writes a limit as people set it: "1 MiB", "4 KiB".
func formatSize(n int64) string {
	switch {
	case n > 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n > 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// redact hides a password written into the URL.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}
