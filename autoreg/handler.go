package autoreg

import (
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
)

// Defaults of HandlerOptions.
const (
	DefaultMaxBody = 64 << 10
	DefaultRate    = rate.Limit(1)
	DefaultBurst   = 5
)

// HandlerOptions configures the registration endpoint.
type HandlerOptions struct {
	Assigner *Assigner
	Tokens   *Tokens
	MaxBody  int64 // default 64 KiB
	// Rate and Burst limit requests per remote IP, checked before the
	// token and the body, so guessing tokens or flooding costs the
	// client, not the server. rate.Inf turns the limit off.
	Rate   rate.Limit
	Burst  int
	Logger *slog.Logger
	// Registered is called after every successful registration with the
	// host's record, before the agent gets its answer, so the hub can
	// define the host and its services in Nagios. It should be quick (a
	// slow hook holds the agent's request); the agent retries if the
	// request times out.
	Registered func(Entry)
}

// NewHandler returns the registration endpoint (POST /v1/register in the
// hub). It panics without an Assigner or Tokens: a server without them
// would refuse or fail every agent, which is a wiring mistake.
func NewHandler(o HandlerOptions) http.Handler {
	if o.Assigner == nil || o.Tokens == nil {
		panic("autoreg.NewHandler: Assigner and Tokens are required")
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
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{o: o, limiters: map[string]*visitor{}, now: time.Now}
	// A limiter idle long enough to have refilled its burst is the same
	// as a new one, so dropping it forgets nothing.
	h.idle = 10 * time.Minute
	if o.Rate != rate.Inf {
		h.idle = max(h.idle, time.Duration(float64(o.Burst)/float64(o.Rate)*float64(time.Second)))
	}
	return h
}

type handler struct {
	o   HandlerOptions
	now func() time.Time

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
	log := h.o.Logger
	ip := remoteIP(r)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "registration takes POST")
		return
	}
	if wait, ok := h.allow(ip); !ok {
		secs := int64(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		log.Warn("registration rate limited", "remote", ip)
		writeError(w, http.StatusTooManyRequests, "too many requests")
		return
	}
	token, ok := bearer(r)
	if !ok || !h.o.Tokens.Valid(token) {
		reason := "no bearer token"
		challenge := `Bearer realm="picket"`
		if ok {
			reason = "token refused"
			challenge += `, error="invalid_token"`
			if err := h.o.Tokens.Err(); err != nil {
				reason += " (the tokens file could not be read again, so every token is refused: " + err.Error() + ")"
			}
		}
		log.Warn("registration refused", "remote", ip, "reason", reason)
		w.Header().Set("WWW-Authenticate", challenge)
		writeError(w, http.StatusUnauthorized, "token refused")
		return
	}
	if r.ContentLength > h.o.MaxBody {
		h.tooLarge(w, ip)
		return
	}
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.o.MaxBody))
	err := dec.Decode(&req)
	if err == nil {
		// One JSON object and nothing after it: trailing data means a
		// client that does not speak this protocol.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.tooLarge(w, ip)
			return
		}
		log.Warn("registration refused", "remote", ip, "reason", "bad JSON: "+err.Error())
		writeError(w, http.StatusBadRequest, "bad JSON: "+truncate(err.Error(), 200))
		return
	}
	resp, err := h.o.Assigner.Register(r.Context(), req, ip)
	switch {
	case err == nil:
	case errors.Is(err, ErrBadRequest):
		log.Warn("registration refused", "remote", ip, "reason", err.Error())
		writeError(w, http.StatusBadRequest, truncate(err.Error(), 300))
		return
	case errors.Is(err, ErrNoProfile):
		// The Assigner logged it with the facts that did not match.
		writeError(w, http.StatusForbidden, "no profile matches this host")
		return
	default:
		// The Assigner logged the reason; the agent gets no internals
		// (paths, template errors) of the server.
		writeError(w, http.StatusInternalServerError, "registration failed on the server; its log says why")
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

func (h *handler) tooLarge(w http.ResponseWriter, ip string) {
	h.o.Logger.Warn("registration refused", "remote", ip, "reason", fmt.Sprintf("body larger than %d bytes", h.o.MaxBody))
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request larger than %d bytes", h.o.MaxBody))
}

// allow takes one token from ip's limiter; when there is none it says how
// long until there is.
func (h *handler) allow(ip string) (time.Duration, bool) {
	if h.o.Rate == rate.Inf {
		return 0, true
	}
	now := h.now()
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
	res := v.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
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
