package autoreg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/picket-monitoring/picket/internal/signing"
)

// Defaults of HandlerOptions.
const (
	DefaultMaxBody     = 64 << 10
	DefaultRate        = rate.Limit(1)
	DefaultBurst       = 5
	DefaultGlobalRate  = rate.Limit(20)
	DefaultGlobalBurst = 100
)

// HandlerOptions configures the registration endpoint.
type HandlerOptions struct {
	Assigner *Assigner
	// Guard decides who may register which host name (tokens, keys).
	Guard   *Guard
	MaxBody int64 // default 64 KiB
	// Rate and Burst limit requests per remote IP, checked before the
	// token and the body, so guessing tokens or flooding costs the
	// client, not the server. rate.Inf turns the limit off.
	Rate  rate.Limit
	Burst int
	// GlobalRate and GlobalBurst limit requests from all addresses
	// together (default 20/s, burst 100), so a flood from many
	// addresses cannot keep the server busy either.
	GlobalRate  rate.Limit
	GlobalBurst int
	Logger      *slog.Logger
	// Refused, when set, is told of every refused request instead of the
	// log getting a line for each: the hub counts them and logs a summary
	// per interval, so a flood does not flood the log.
	Refused func(Refusal)
	// Registered is called after every successful registration with the
	// host's record, before the agent gets its answer, so the hub can
	// define the host and its services in Nagios. It should be quick (a
	// slow hook holds the agent's request); the agent retries if the
	// request times out.
	Registered func(Entry)
}

// Refusal is one refused request, as HandlerOptions.Refused hears of it.
type Refusal struct {
	// Reason is short and fixed, for counting: "rate limited", "token
	// refused", "bound to another key", "bad request", ...
	Reason string
	// Host is the host name the request was about, when known.
	Host   string
	Remote string
	// Detail is the full message the client got.
	Detail string
}

// NewHandler returns the registration endpoint (POST /v1/register in the
// hub). It panics without an Assigner or a Guard with Tokens: a server
// without them would refuse or fail every agent, which is a wiring
// mistake.
func NewHandler(o HandlerOptions) http.Handler {
	if o.Assigner == nil || o.Guard == nil || o.Guard.Tokens == nil {
		panic("autoreg.NewHandler: Assigner and Guard with Tokens are required")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.GlobalRate <= 0 {
		o.GlobalRate = DefaultGlobalRate
	}
	if o.GlobalBurst <= 0 {
		o.GlobalBurst = DefaultGlobalBurst
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{o: o, limiters: map[string]*visitor{}, now: time.Now,
		global: rate.NewLimiter(o.GlobalRate, o.GlobalBurst)}
	// A limiter idle long enough to have refilled its burst is the same
	// as a new one, so dropping it forgets nothing.
	h.idle = 10 * time.Minute
	if o.Rate != rate.Inf {
		h.idle = max(h.idle, time.Duration(float64(o.Burst)/float64(o.Rate)*float64(time.Second)))
	}
	return h
}

type handler struct {
	o      HandlerOptions
	now    func() time.Time
	global *rate.Limiter

	mu        sync.Mutex
	limiters  map[string]*visitor
	lastPrune time.Time
	idle      time.Duration
}

type visitor struct {
	lim  *rate.Limiter
	last time.Time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "registration takes POST")
		return
	}
	if wait, ok := h.allow(ip); !ok {
		secs := int64(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		h.refuse(w, http.StatusTooManyRequests, Refusal{Reason: "rate limited", Remote: ip, Detail: "too many requests"})
		return
	}
	if r.ContentLength > h.o.MaxBody {
		h.tooLarge(w, ip)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.tooLarge(w, ip)
			return
		}
		h.refuse(w, http.StatusBadRequest, Refusal{Reason: "bad request", Remote: ip, Detail: "cannot read the request: " + err.Error()})
		return
	}
	var req Request
	if err := decodeRequest(body, &req); err != nil {
		h.refuse(w, http.StatusBadRequest, Refusal{Reason: "bad request", Remote: ip, Detail: "bad JSON: " + truncate(err.Error(), 200)})
		return
	}
	var cred Credentials
	cred.Token, _ = bearer(r)
	auth, err := signing.ParseRequestAuth(r, body)
	switch {
	case err == nil:
		cred.Auth = auth
	case !errors.Is(err, signing.ErrNoAuth):
		h.refuse(w, http.StatusUnauthorized, Refusal{Reason: "bad signature", Host: req.Hostname, Remote: ip, Detail: err.Error()})
		return
	}
	resp, err := h.o.Assigner.RegisterAs(r.Context(), req, ip, h.o.Guard.Admit(req, cred))
	if err != nil {
		h.failed(w, r, req, ip, err)
		return
	}
	if h.o.Registered != nil {
		if e, ok := h.o.Assigner.Registry.Get(resp.Host); ok {
			h.o.Registered(e)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(resp)
}

// failed answers a registration the Assigner or the Guard refused.
func (h *handler) failed(w http.ResponseWriter, r *http.Request, req Request, ip string, err error) {
	ref := Refusal{Host: req.Hostname, Remote: ip, Detail: truncate(err.Error(), 600)}
	if host, herr := h.o.Assigner.hostName(req); herr == nil {
		ref.Host = host
	}
	var te *TokenError
	switch {
	case errors.As(err, &te) && te.WrongHost:
		ref.Reason = "token not for this host"
		h.refuse(w, http.StatusForbidden, ref)
	case errors.As(err, &te):
		ref.Reason = "token refused"
		w.Header().Set("WWW-Authenticate", `Bearer realm="picket", error="invalid_token"`)
		h.refuse(w, http.StatusUnauthorized, ref)
	case errors.Is(err, ErrBadRequest):
		ref.Reason = "bad request"
		h.refuse(w, http.StatusBadRequest, ref)
	case errors.Is(err, ErrUnauthorized):
		ref.Reason = "identity not proven"
		h.refuse(w, http.StatusUnauthorized, ref)
	case errors.Is(err, ErrForbidden):
		ref.Reason = "forbidden"
		if strings.Contains(err.Error(), "is bound to the key") {
			ref.Reason = "bound to another key"
		}
		h.refuse(w, http.StatusForbidden, ref)
	case errors.Is(err, ErrTooMany):
		ref.Reason = "new-host cap"
		w.Header().Set("Retry-After", "300")
		h.refuse(w, http.StatusTooManyRequests, ref)
	case errors.Is(err, ErrNoProfile):
		// The Assigner logged it with the facts that did not match.
		writeError(w, http.StatusForbidden, "no profile matches this host")
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "the request ended before the registration did")
	default:
		// The Assigner logged the reason; the agent gets no internals
		// (paths, template errors) of the server.
		writeError(w, http.StatusInternalServerError, "registration failed on the server; its log says why")
	}
}

// refuse answers a refused request with its detail and tells whoever
// counts refusals; without a counter, each is logged.
func (h *handler) refuse(w http.ResponseWriter, code int, ref Refusal) {
	if h.o.Refused != nil {
		h.o.Refused(ref)
	} else {
		h.o.Logger.Warn("registration refused", "remote", ref.Remote, "host", ref.Host, "reason", ref.Detail)
	}
	writeError(w, code, ref.Detail)
}

// decodeRequest takes one JSON object and nothing after it: trailing
// data means a client that does not speak this protocol.
func decodeRequest(body []byte, req *Request) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(req); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	return nil
}

func (h *handler) tooLarge(w http.ResponseWriter, ip string) {
	h.refuse(w, http.StatusRequestEntityTooLarge, Refusal{Reason: "too large", Remote: ip,
		Detail: fmt.Sprintf("request larger than %d bytes", h.o.MaxBody)})
}

// allow takes one token from ip's limiter, then one from the global
// limiter; when either has none it says how long until it has. The
// per-address limit comes first, so one address refused for flooding
// does not use up everyone's share.
func (h *handler) allow(ip string) (time.Duration, bool) {
	now := h.now()
	var mine *rate.Reservation
	if h.o.Rate != rate.Inf {
		if mine = h.reserve(ip, now); mine == nil {
			return 0, false
		}
		if d := mine.DelayFrom(now); d > 0 {
			mine.CancelAt(now)
			return d, false
		}
	}
	if h.o.GlobalRate != rate.Inf {
		res := h.global.ReserveN(now, 1)
		if d := res.DelayFrom(now); d > 0 {
			res.CancelAt(now)
			if mine != nil {
				mine.CancelAt(now)
			}
			return d, false
		}
	}
	return 0, true
}

// reserve takes a reservation from ip's limiter.
func (h *handler) reserve(ip string, now time.Time) *rate.Reservation {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now.Sub(h.lastPrune) > time.Minute {
		h.lastPrune = now
		for k, v := range h.limiters {
			if now.Sub(v.last) > h.idle {
				delete(h.limiters, k)
			}
		}
	}
	v, ok := h.limiters[ip]
	if !ok {
		v = &visitor{lim: rate.NewLimiter(h.o.Rate, h.o.Burst)}
		h.limiters[ip] = v
	}
	v.last = now
	return v.lim.ReserveN(now, 1)
}

// remoteIP is the client's address without its port: one limiter per
// machine, not per connection. Behind a reverse proxy every agent shares
// the proxy's address; X-Forwarded-For is not trusted, since any client
// can write it.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(errorBody{Error: msg})
}
