package agent

import (
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/signing"
)

// For `picket doctor`, which must test what the agent would do, not a
// copy of it.

// Central is how the agent talks to the central server: the TLS of every
// request (with the pins the config names and those recorded at
// enrollment), the proxy, the externals keys it trusts, and the identity
// it signs requests with (nil before the first registration made one).
type Central struct {
	TLS    *tls.Config
	Proxy  func(*http.Request) (*url.URL, error)
	Keys   []ed25519.PublicKey
	Signer *signing.Signer
}

// CentralOf reads what cfg and its state_dir say about the central
// server, without creating or changing anything there.
func CentralOf(cfg *config.Config) (Central, error) {
	e := cfg.Externals
	a, _ := autoreg.LoadAssignment(filepath.Join(cfg.StateDir, registrationFile))
	var c Central
	var err error
	if c.TLS, err = clientTLS(e, newPinSet(e, a.ServerPins)); err != nil {
		return c, err
	}
	if c.Proxy, err = proxyFunc(e); err != nil {
		return c, err
	}
	if c.Keys, err = trustedKeys(e); err != nil {
		return c, err
	}
	key, err := signing.ReadSigningKey(filepath.Join(cfg.StateDir, identityKeyFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c, nil
	case err != nil:
		return c, err
	}
	host := cfg.Hostname
	if a.Host != "" {
		host = a.Host
	}
	c.Signer = signing.NewSigner(host, key)
	return c, nil
}

// AssignedHost is the host name a registration assigned, as recorded in
// stateDir, or "" if none is: the agent runs (and pulls its externals)
// under it.
func AssignedHost(stateDir string) string { return assigned(stateDir) }
