package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/signing"
)

// openIdentities opens state_dir/identities.json; the first time, every
// host of reg is recorded as legacy (registered before identities).
func openIdentities(ctx context.Context, cfg *Config, reg *autoreg.Registry) (*autoreg.Identities, error) {
	var hosts []string
	for _, e := range reg.List() {
		hosts = append(hosts, e.Host)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return autoreg.OpenIdentities(ctx, filepath.Join(cfg.StateDir, identitiesFile), hosts)
}

// bound reports whether a key is bound to host.
func (c *central) bound(host string) bool {
	_, ok := c.ids.Get(host)
	return ok
}

// authorize lets through only the externals requests their signer may
// make: a bound host's file goes to its own key alone; another host's
// file to an agent whose profile lists it in monitored_hosts; and, unless
// [externals] require_identity, the files of hosts no key is bound to
// (registered before identities, or written by hand) to anyone, as
// before. Every refusal is counted in the refusal log.
func (c *central) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, ok := externals.SplitName(strings.TrimPrefix(r.URL.Path, "/"))
		if !ok {
			next.ServeHTTP(w, r) // a 404 there
			return
		}
		if code, why := c.mayRead(r, host); code != 0 {
			c.refusals.note(autoreg.Refusal{Reason: "externals " + http.StatusText(code), Host: host, Remote: remoteIP(r), Detail: why})
			if code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Picket-Ed25519 realm="picket"`)
			}
			http.Error(w, why, code)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mayRead returns 0 when r may read host's externals, else the status
// and the reason.
func (c *central) mayRead(r *http.Request, host string) (int, string) {
	requireID := c.cfg.Externals.RequireIdentity
	auth, err := signing.ParseRequestAuth(r, nil)
	switch {
	case errors.Is(err, signing.ErrNoAuth):
		return c.mayReadAnonymously(host)
	case err != nil:
		return http.StatusUnauthorized, err.Error()
	}
	b, ok := c.ids.Get(auth.Host)
	switch {
	case !ok && requireID:
		return http.StatusUnauthorized, fmt.Sprintf("no key is bound to %s, the host this request is signed as: the agent must register (with a token) first", auth.Host)
	case !ok:
		// An agent with a key its host is not bound to yet (upgraded
		// from before identities, or released): what anyone may read,
		// it may read too, until its registration binds the key.
		return c.mayReadAnonymously(host)
	}
	now := time.Now()
	for _, check := range []func() error{
		func() error { return auth.Verify(b.PublicKey()) },
		func() error { return auth.Fresh(now) },
		func() error { return c.replay.Check(auth, now) },
	} {
		if err := check(); err != nil {
			return http.StatusUnauthorized, err.Error()
		}
	}
	if auth.Host == host {
		return 0, ""
	}
	if owner, ok := c.ids.Get(host); ok {
		return http.StatusForbidden, fmt.Sprintf("the externals of %s belong to the agent holding key %s, not to %s", host, owner.Fingerprint, auth.Host)
	}
	if !requireID || c.monitors(auth.Host, host) {
		return 0, ""
	}
	return http.StatusForbidden, fmt.Sprintf("%s may not read the externals of %s: its profile's monitored_hosts does not list it", auth.Host, host)
}

// mayReadAnonymously is mayRead for a request that proves no bound key:
// the files of hosts no key is bound to, unless require_identity.
func (c *central) mayReadAnonymously(host string) (int, string) {
	if b, ok := c.ids.Get(host); ok {
		return http.StatusUnauthorized, fmt.Sprintf("the externals of %s are served only to the agent holding key %s: this request is not signed by it", host, b.Fingerprint)
	}
	if c.cfg.Externals.RequireIdentity {
		return http.StatusUnauthorized, "this server serves externals only to agents that sign their requests with a bound key (require_identity)"
	}
	return 0, ""
}

// monitors reports whether agent's profile lets it report for host.
func (c *central) monitors(agent, host string) bool {
	if c.assigner == nil {
		return false
	}
	e, ok := c.registry.Get(agent)
	return ok && c.assigner.CurrentProfiles().MayReportFor(e.Profile, host)
}

// remoteIP is the client's address without its port.
func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// HostInfo is a registered host with its identity.
type HostInfo struct {
	autoreg.Entry
	// Binding is the key the host is bound to; nil when none is.
	Binding *autoreg.Binding `json:"binding,omitempty"`
	// Legacy: registered before identities, not bound since.
	Legacy bool `json:"legacy,omitempty"`
}

// Hosts lists the registry of agents with their bindings.
func Hosts(ctx context.Context, cfg *Config) ([]HostInfo, error) {
	reg, err := autoreg.OpenRegistry(filepath.Join(cfg.StateDir, registryFile))
	if err != nil {
		return nil, err
	}
	ids, err := openIdentities(ctx, cfg, reg)
	if err != nil {
		return nil, err
	}
	var out []HostInfo
	for _, e := range reg.List() {
		h := HostInfo{Entry: e, Legacy: ids.Legacy(e.Host)}
		if b, ok := ids.Get(e.Host); ok {
			h.Binding = &b
		}
		out = append(out, h)
	}
	return out, nil
}

// Forget releases host's binding: its key no longer speaks for it, and
// its next registration with a valid token binds a key anew. It works
// while picket server runs (which notices within a second).
func Forget(ctx context.Context, cfg *Config, host string) (autoreg.Binding, error) {
	ids, err := adminIdentities(ctx, cfg, host)
	if err != nil {
		return autoreg.Binding{}, err
	}
	return ids.Forget(ctx, host)
}

// Rekey lets host's next registration with a valid token bind a new key;
// the bound one keeps working until then.
func Rekey(ctx context.Context, cfg *Config, host string) (autoreg.Binding, error) {
	ids, err := adminIdentities(ctx, cfg, host)
	if err != nil {
		return autoreg.Binding{}, err
	}
	return ids.Rekey(ctx, host)
}

func adminIdentities(ctx context.Context, cfg *Config, host string) (*autoreg.Identities, error) {
	if !autoreg.ValidHost(host) {
		return nil, fmt.Errorf("%q is not a host name", host)
	}
	reg, err := autoreg.OpenRegistry(filepath.Join(cfg.StateDir, registryFile))
	if err != nil {
		return nil, err
	}
	return openIdentities(ctx, cfg, reg)
}
