package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Headers of the agent's requests.
const (
	// AuthHeader carries the agent's signature of its request: the proof,
	// on every registration and pull, that it holds the key its host name
	// is bound to.
	AuthHeader = "X-Picket-Auth"
	// TrustHeader lists the fingerprints of the externals keys the agent
	// trusts, so that a server rotating its key signs with the new one
	// as soon as an agent trusts it.
	TrustHeader = "X-Picket-Keys"
)

// MaxClockSkew is how far a signed request's time may be from the server's
// clock, either way. Within it, a replay cache refuses a signature seen
// before; outside it, the request is refused as too old (or too new).
const MaxClockSkew = 5 * time.Minute

// maxSignedBody bounds what the agent signs: a registration is at most a
// few hundred KiB.
const maxSignedBody = 4 << 20

const requestContext = "picket-request-v1\x00"

// requestMessage is what a request signature covers: method, the last
// element of the path (reverse proxies may rewrite the prefix, never the
// file or endpoint name), the signer's host, time, nonce and the SHA-256
// of the body.
func requestMessage(method, resource, host string, ts int64, nonce string, body []byte) []byte {
	sum := sha256.Sum256(body)
	var b strings.Builder
	b.WriteString(requestContext)
	for _, f := range []string{method, resource, host, strconv.FormatInt(ts, 10), nonce} {
		b.WriteString(f)
		b.WriteByte(0)
	}
	b.WriteString(base64.StdEncoding.EncodeToString(sum[:]))
	return []byte(b.String())
}

// resource is the part of a request's path the signature covers.
func resource(p string) string {
	if p == "" {
		return "/"
	}
	return path.Base(p)
}

// Signer signs an agent's requests with its key, as its host. It is safe
// for concurrent use.
type Signer struct {
	host string
	key  ed25519.PrivateKey
	now  func() time.Time
	// skew is the server's clock minus the agent's, in nanoseconds, as
	// learned from the Date of the server's answers.
	skew atomic.Int64
}

// NewSigner returns a Signer for host with key.
func NewSigner(host string, key ed25519.PrivateKey) *Signer {
	return &Signer{host: host, key: key, now: time.Now}
}

// Host is the host the signer speaks for.
func (s *Signer) Host() string { return s.host }

// PublicKey is the signer's public key.
func (s *Signer) PublicKey() ed25519.PublicKey {
	pub, _ := s.key.Public().(ed25519.PublicKey)
	return pub
}

// Sign sets r's AuthHeader for body (nil for a request without one).
func (s *Signer) Sign(r *http.Request, body []byte) error {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(n[:])
	ts := s.now().Add(time.Duration(s.skew.Load())).Unix()
	sig := ed25519.Sign(s.key, requestMessage(r.Method, resource(r.URL.Path), s.host, ts, nonce, body))
	r.Header.Set(AuthHeader, fmt.Sprintf("v1 host=%s ts=%d nonce=%s sig=%s", s.host, ts, nonce,
		base64.StdEncoding.EncodeToString(sig)))
	return nil
}

// Observe learns the server's clock from resp's Date header, so that an
// agent whose clock is off does not have every request refused: the next
// one is stamped in the server's time. Differences under a minute are
// left alone (Date counts whole seconds, and they are well inside
// MaxClockSkew).
func (s *Signer) Observe(resp *http.Response) {
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return
	}
	skew := d.Sub(s.now())
	if skew > -time.Minute && skew < time.Minute {
		skew = 0
	}
	s.skew.Store(int64(skew))
}

// Transport returns a RoundTripper that signs every request passing
// through base (each retry and redirect anew, since a signature is good
// once) and observes every answer's Date.
func (s *Signer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &signingTransport{s: s, base: base}
}

type signingTransport struct {
	s    *Signer
	base http.RoundTripper
}

func (t *signingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		if r.GetBody == nil {
			return nil, errors.New("sign request: its body cannot be read twice (no GetBody)")
		}
		rc, err := r.GetBody()
		if err != nil {
			return nil, fmt.Errorf("sign request: %w", err)
		}
		body, err = io.ReadAll(io.LimitReader(rc, maxSignedBody+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("sign request: %w", err)
		}
		if len(body) > maxSignedBody {
			return nil, fmt.Errorf("sign request: body larger than %d bytes", maxSignedBody)
		}
	}
	// A RoundTripper must not change the caller's request.
	r2 := r.Clone(r.Context())
	if err := t.s.Sign(r2, body); err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(r2)
	if err == nil {
		t.s.Observe(resp)
	}
	return resp, err
}

// CloseIdleConnections passes on to the base transport, so that clients
// built on this one can still drop their idle connections.
func (t *signingTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// ErrNoAuth is a request without AuthHeader.
var ErrNoAuth = errors.New("the request carries no signature (" + AuthHeader + ")")

// RequestAuth is a request's signature as the server reads it, before it
// knows which key to verify it with (that depends on Host).
type RequestAuth struct {
	Host  string
	Time  time.Time
	Nonce string
	sig   []byte
	msg   []byte
}

// ParseRequestAuth reads r's AuthHeader; body is the request body the
// server read. A request without the header gives ErrNoAuth.
func ParseRequestAuth(r *http.Request, body []byte) (*RequestAuth, error) {
	v := r.Header.Get(AuthHeader)
	if v == "" {
		return nil, ErrNoAuth
	}
	rest, ok := strings.CutPrefix(v, "v1 ")
	if !ok {
		return nil, errors.New(AuthHeader + ": not a v1 request signature")
	}
	a := &RequestAuth{}
	var ts int64
	seen := map[string]bool{}
	for _, f := range strings.Fields(rest) {
		k, val, ok := strings.Cut(f, "=")
		if !ok || val == "" || seen[k] {
			return nil, fmt.Errorf("%s: field %q: want key=value, each key once", AuthHeader, truncate(f, 40))
		}
		seen[k] = true
		switch k {
		case "host":
			a.Host = val
		case "ts":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: ts %q is not a whole number", AuthHeader, truncate(val, 30))
			}
			ts = n
		case "nonce":
			if len(val) > 64 {
				return nil, fmt.Errorf("%s: nonce longer than 64 characters", AuthHeader)
			}
			a.Nonce = val
		case "sig":
			raw, err := base64.StdEncoding.DecodeString(val)
			if err != nil || len(raw) != ed25519.SignatureSize {
				return nil, fmt.Errorf("%s: sig is not a base64 Ed25519 signature", AuthHeader)
			}
			a.sig = raw
		default:
			return nil, fmt.Errorf("%s: unknown field %q", AuthHeader, truncate(k, 20))
		}
	}
	if a.Host == "" || !seen["ts"] || a.Nonce == "" || a.sig == nil {
		return nil, fmt.Errorf("%s: host, ts, nonce and sig are required", AuthHeader)
	}
	a.Time = time.Unix(ts, 0)
	a.msg = requestMessage(r.Method, resource(r.URL.Path), a.Host, ts, a.Nonce, body)
	return a, nil
}

// Verify checks the signature with pub.
func (a *RequestAuth) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, a.msg, a.sig) {
		return fmt.Errorf("the request's signature does not match key %s of host %s", Fingerprint(pub), a.Host)
	}
	return nil
}

// Fresh refuses a request signed further than MaxClockSkew from now.
func (a *RequestAuth) Fresh(now time.Time) error {
	if d := now.Sub(a.Time); d > MaxClockSkew || d < -MaxClockSkew {
		return fmt.Errorf("the request was signed at %s, the server's time is %s: more than %v apart (the agent's clock is off, or the request is replayed)",
			a.Time.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), MaxClockSkew)
	}
	return nil
}

// ReplayCache remembers the signatures seen within MaxClockSkew, so each
// is accepted once. Entries older than twice the window can no longer be
// fresh and are dropped. It is safe for concurrent use.
type ReplayCache struct {
	// Max bounds the entries (default 1<<20, about 100 MiB at worst): a
	// full cache refuses new signatures rather than forget old ones.
	Max int

	mu        sync.Mutex
	seen      map[string]time.Time
	lastPrune time.Time
}

// ErrReplay is a signature the cache has seen.
var ErrReplay = errors.New("this signed request was seen before (a replay)")

// ErrReplayFull is a cache with no room left for another signature.
var ErrReplayFull = errors.New("too many signed requests in the last minutes: refused rather than risk accepting a replay")

// Check records a's nonce and refuses one seen before.
func (c *ReplayCache) Check(a *RequestAuth, now time.Time) error {
	key := a.Host + "\x00" + a.Nonce
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	if now.Sub(c.lastPrune) > time.Minute {
		c.lastPrune = now
		for k, t := range c.seen {
			if now.Sub(t) > 2*MaxClockSkew {
				delete(c.seen, k)
			}
		}
	}
	if _, ok := c.seen[key]; ok {
		return ErrReplay
	}
	limit := c.Max
	if limit <= 0 {
		limit = 1 << 20
	}
	if len(c.seen) >= limit {
		return ErrReplayFull
	}
	c.seen[key] = now
	return nil
}
