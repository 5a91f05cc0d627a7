package autoreg

import "time"

// Request is what an agent tells the server about itself when it registers.
// The server names the host, picks its profile and renders its externals
// from these facts, and keeps them in its registry so that a profile
// change can be applied later without asking the agent again.
type Request struct {
	Hostname     string   `json:"hostname"`
	FQDN         string   `json:"fqdn"`
	OS           string   `json:"os"` // runtime.GOOS
	OSVersion    string   `json:"os_version"`
	Arch         string   `json:"arch"`
	Addresses    []string `json:"addresses"`
	MACs         []string `json:"macs"`
	AgentVersion string   `json:"agent_version"`
	Metadata     []string `json:"metadata"`
	Plugins      []Plugin `json:"plugins"`
	// Services are the agent's results outside externals (its local
	// checks, its health services): Nagios drops results for services it
	// does not know, so the server has to define these too.
	Services []Service `json:"services"`
	// HostResultSeconds is how often the agent reports its own host UP
	// (0: it does not), from which the server derives the host object's
	// freshness, so that a silent agent turns its host DOWN.
	HostResultSeconds int64 `json:"host_result_s,omitempty"`
	// PublicKey is the agent's own key ("ed25519:<base64>"), made on the
	// host at its first registration; the request is signed with it
	// (signing.AuthHeader), which proves the agent holds it. The server
	// binds the host name to it. Empty from agents older than identity.
	PublicKey string `json:"public_key,omitempty"`
}

// Plugin is one file of the agent's plugin folders.
type Plugin struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"` // hex
}

// Service is one service the agent reports on outside its externals.
// Durations are whole seconds so that any client can produce them.
type Service struct {
	Host            string `json:"host,omitempty"` // empty: the agent's own host
	Service         string `json:"service"`
	IntervalSeconds int64  `json:"interval_s,omitempty"`
	Cron            string `json:"cron,omitempty"`
	TimeoutSeconds  int64  `json:"timeout_s,omitempty"`
}

// Response is the server's answer to a successful registration.
type Response struct {
	// Host is the name the agent must report under from now on.
	Host    string `json:"host"`
	Profile string `json:"profile"`
	// Status is one of the Status constants.
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// Key is the fingerprint of the agent key the host is bound to, and
	// BoundSince when it was bound; empty for a host registered without
	// a key (an agent older than identity).
	Key        string    `json:"key,omitempty"`
	BoundSince time.Time `json:"bound_since,omitzero"`
	// ServerPins are the SHA-256 fingerprints (base64) of the public keys
	// of the certificate chain the server presented at this
	// registration, leaf first: the agent records them, and pins them
	// with [externals] pin_sha256 = ["enrollment"]. The server never
	// sends them.
	ServerPins []string `json:"server_pins,omitempty"`
}

// Values of Response.Status.
const (
	StatusCreated   = "created"   // the host's externals file was written for the first time
	StatusUpdated   = "updated"   // the server's own file was rewritten with new content
	StatusUnchanged = "unchanged" // the file already held what the profile renders
	StatusKept      = "kept"      // an administrator edited the file; it was left alone
)
