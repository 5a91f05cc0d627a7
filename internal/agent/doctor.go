package agent

import (
	"crypto/tls"

	"github.com/picket-monitoring/picket/internal/config"
)

// For `picket doctor`, which must test what the agent would do, not a
// copy of it.

// ClientTLS is the TLS configuration of every request the agent makes to
// the central server (externals and registration).
func ClientTLS(e config.Externals) (*tls.Config, error) { return clientTLS(e) }

// AssignedHost is the host name a registration assigned, as recorded in
// stateDir, or "" if none is: the agent runs (and pulls its externals)
// under it.
func AssignedHost(stateDir string) string { return assigned(stateDir) }
