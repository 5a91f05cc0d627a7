package autoreg

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/signing"
)

// Errors a Guard refuses with; the handler answers them with 401, 403
// and 429.
var (
	ErrUnauthorized = errors.New("not authorized")
	ErrForbidden    = errors.New("forbidden")
	ErrTooMany      = errors.New("too many registrations")
)

// Guard decides who may register which host name: the agent holding the
// key the name is bound to (no token needed), or an agent with a valid
// enrollment token that proves its own new key, which is then bound.
// Hosts registered before identities (Identities.Legacy) may still
// register without a key, with a token, until their agent binds one.
type Guard struct {
	Tokens *Tokens
	// Identities records the bindings. Nil: tokens only, no keys (a
	// server that never binds).
	Identities *Identities
	// Replay refuses a request signature seen before.
	Replay *signing.ReplayCache
	// MaxNewHostsPerHour, above 0, caps the registrations of host names
	// the registry does not know yet, over any hour.
	MaxNewHostsPerHour int
	Now                func() time.Time
	Logger             *slog.Logger

	mu       sync.Mutex
	newHosts []time.Time // registrations of new hosts in the last hour
}

// Credentials are what a registration request carries to prove itself.
type Credentials struct {
	// Token is the bearer token, "" when none was sent.
	Token string
	// Auth is the request's signature, nil when it is not signed.
	Auth *signing.RequestAuth
}

// Admission is a Guard's yes to one registration.
type Admission struct {
	// Enrolled: a token admitted the host, so its profile (Profile, "" for
	// the rules) becomes the host's.
	Enrolled bool
	Profile  string
	// Binding is the host's binding once Commit has run (or already,
	// for its own agent); nil for a host registered without a key.
	Binding *Binding
	// Commit runs once the registration is recorded: it binds the key and
	// counts the token's use.
	Commit func(ctx context.Context) error
}

// Admit is called by the Assigner under its lock, before anything is
// written, with the host's name and whether the registry knows it.
type Admit func(ctx context.Context, host string, known bool) (*Admission, error)

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Admit returns the admission check of one request.
func (g *Guard) Admit(req Request, cred Credentials) Admit {
	return func(ctx context.Context, host string, known bool) (*Admission, error) {
		pub, err := g.proof(req, cred)
		if err != nil {
			return nil, err
		}
		var b Binding
		bound := false
		if g.Identities != nil {
			b, bound = g.Identities.Get(host)
		}
		switch {
		case bound && pub != nil && pub.Equal(b.PublicKey()):
			return &Admission{Binding: &b}, nil
		case bound && pub != nil && !b.RekeyRequested.IsZero():
			return g.enroll(host, true, pub, cred)
		case bound:
			what := "carries no key"
			if pub != nil {
				what = "proves another key, " + signing.Fingerprint(pub)
			}
			return nil, fmt.Errorf("%w: host %s is bound to the key %s of the agent that registered it (since %s); this request %s. If that host was reinstalled or lost its key, an administrator can run `picket server hosts rekey %s` (its next registration with a valid token binds the new key) or `picket server hosts forget %s`",
				ErrForbidden, host, b.Fingerprint, b.Since.UTC().Format(time.RFC3339), what, host, host)
		case pub == nil:
			if g.Identities != nil && !(known && g.Identities.Legacy(host)) {
				return nil, fmt.Errorf("%w: registering needs the agent's own key (public_key, and the request signed with it); this agent is older than that: upgrade it. Only hosts registered before identities may register without a key, until their agent binds one", ErrUnauthorized)
			}
			return g.enroll(host, known, nil, cred)
		}
		return g.enroll(host, known, pub, cred)
	}
}

// proof checks the request's signature against the key it asks to bind:
// the agent must hold that key. It returns the key, nil for a request
// without one.
func (g *Guard) proof(req Request, cred Credentials) (ed25519.PublicKey, error) {
	if req.PublicKey == "" {
		if cred.Auth != nil {
			return nil, fmt.Errorf("%w: the request is signed but names no public_key", ErrBadRequest)
		}
		return nil, nil
	}
	pub, err := signing.ParsePublicKey(req.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: public_key: %v", ErrBadRequest, err)
	}
	if cred.Auth == nil {
		return nil, fmt.Errorf("%w: public_key %s without the request signed by it (%s): nothing proves the agent holds it",
			ErrUnauthorized, signing.Fingerprint(pub), signing.AuthHeader)
	}
	now := g.now()
	if err := cred.Auth.Verify(pub); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if err := cred.Auth.Fresh(now); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if g.Replay != nil {
		if err := g.Replay.Check(cred.Auth, now); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnauthorized, err)
		}
	}
	return pub, nil
}

// enroll admits host with cred's token: binding pub when there is one,
// counting the token's use, and for a host the registry does not know,
// within the cap on new hosts.
func (g *Guard) enroll(host string, known bool, pub ed25519.PublicKey, cred Credentials) (*Admission, error) {
	if cred.Token == "" {
		return nil, &TokenError{Reason: "no token (Authorization: Bearer): a host not bound to this agent's key needs an enrollment token"}
	}
	tok, err := g.Tokens.Check(cred.Token, host)
	if err != nil {
		return nil, err
	}
	if !known {
		if err := g.newHostRoom(); err != nil {
			return nil, err
		}
	}
	adm := &Admission{Enrolled: true, Profile: tok.Profile}
	adm.Commit = func(ctx context.Context) error {
		if pub != nil && g.Identities != nil {
			b, err := g.Identities.Bind(ctx, host, pub, tok.Name)
			if err != nil {
				return err
			}
			adm.Binding = &b
			g.logger().Info("host bound to its agent's key", "host", host, "key", b.Fingerprint, "token", tok.Name, "previous", b.Previous)
		}
		if !known {
			g.noteNewHost()
		}
		return g.Tokens.Use(tok)
	}
	return adm, nil
}

// newHostRoom refuses a new host when MaxNewHostsPerHour were registered
// in the last hour.
func (g *Guard) newHostRoom() error {
	if g.MaxNewHostsPerHour <= 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	i := 0
	for i < len(g.newHosts) && now.Sub(g.newHosts[i]) >= time.Hour {
		i++
	}
	g.newHosts = g.newHosts[i:]
	if len(g.newHosts) >= g.MaxNewHostsPerHour {
		wait := time.Hour - now.Sub(g.newHosts[0])
		return fmt.Errorf("%w: %d new hosts registered in the last hour, the most this server takes (max_new_hosts_per_hour); try again in %s",
			ErrTooMany, len(g.newHosts), wait.Round(time.Second))
	}
	return nil
}

func (g *Guard) noteNewHost() {
	if g.MaxNewHostsPerHour <= 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.newHosts = append(g.newHosts, g.now())
}

func (g *Guard) logger() *slog.Logger {
	if g.Logger != nil {
		return g.Logger
	}
	return slog.New(slog.DiscardHandler)
}
