package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Defaults of [externals] and [autoreg].
const (
	DefaultExternalsInterval = 5 * time.Minute
	DefaultExternalsMaxStale = 72 * time.Hour
	DefaultExternalsTimeout  = 60 * time.Second
	DefaultExternalsMaxSize  = 1 << 20
	DefaultExternalsService  = "picket_externals"
	DefaultAutoregBackoff    = 5 * time.Minute

	// minExternalsInterval keeps thousands of agents from hammering the
	// central server through a typo.
	minExternalsInterval = 10 * time.Second
)

// DefaultStateDir is where the platform keeps the agent's state.
func DefaultStateDir() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(programData(), "picket")
	}
	return "/var/lib/picket"
}

func (c *Config) applyExternalsDefaults(probs *problems) {
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	} else if !filepath.IsAbs(c.StateDir) {
		probs.add("state_dir", fmt.Sprintf("%q is not an absolute path", c.StateDir))
	}
	h := &c.Health
	if h.ExternalsService == "" {
		h.ExternalsService = DefaultExternalsService
	}
	checkName(probs, "health.externals_service", "service", h.ExternalsService, maxServiceLen)
	if h.ExternalsService == h.PollerService || h.ExternalsService == h.SpoolerService {
		probs.add("health.externals_service", fmt.Sprintf("%q is already the poller's or the spooler's service", h.ExternalsService))
	}

	e := &c.Externals
	if e.Interval.Duration == 0 {
		e.Interval.Duration = DefaultExternalsInterval
	} else if e.Interval.Duration < minExternalsInterval {
		probs.add("externals.interval", fmt.Sprintf("%v is shorter than the minimum %v", e.Interval.Duration, minExternalsInterval))
	}
	if e.MaxStale.Duration == 0 {
		e.MaxStale.Duration = DefaultExternalsMaxStale
	} else if e.MaxStale.Duration < e.Interval.Duration {
		probs.add("externals.max_stale", fmt.Sprintf("%v is shorter than the interval %v", e.MaxStale.Duration, e.Interval.Duration))
	}
	if e.Timeout.Duration == 0 {
		e.Timeout.Duration = DefaultExternalsTimeout
	}
	if e.MaxSize == 0 {
		e.MaxSize = DefaultExternalsMaxSize
	}
	if e.URL != "" {
		checkHTTPURL(probs, "externals.url", e.URL)
	}
	for _, f := range []struct{ field, path string }{
		{"externals.ca_file", e.CAFile}, {"externals.cert_file", e.CertFile}, {"externals.key_file", e.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			probs.add(f.field, err.Error())
		}
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		probs.add("externals.cert_file", "a client certificate needs both cert_file and key_file")
	}
	if e.KeyFile != "" {
		if err := CheckSecretFile(e.KeyFile); err != nil {
			probs.add("externals.key_file", err.Error())
		}
	}
	if e.PublicKey != "" {
		if _, err := ParsePublicKey(e.PublicKey); err != nil {
			probs.add("externals.public_key", err.Error())
		}
	}
	seen := map[string]bool{c.Hostname: true}
	for i, h := range e.MonitoredHosts {
		f := "externals.monitored_hosts"
		checkName(probs, f, "host", h, maxHostLen)
		if strings.ContainsAny(h, "/\\") || strings.Contains(h, "..") {
			probs.add(f, fmt.Sprintf("entry %d (%q) is not a host name", i+1, h))
		} else if seen[h] {
			probs.add(f, fmt.Sprintf("entry %d (%q) is listed twice or is this agent's own host", i+1, h))
		}
		seen[h] = true
	}
	if len(e.MonitoredHosts) > 0 && e.URL == "" {
		probs.add("externals.monitored_hosts", "needs externals.url to pull those hosts' externals from")
	}

	a := &c.Autoreg
	if a.MaxBackoff.Duration == 0 {
		a.MaxBackoff.Duration = DefaultAutoregBackoff
	} else if a.MaxBackoff.Duration < time.Second {
		probs.add("autoreg.max_backoff", "at least 1s")
	}
	if a.URL != "" {
		checkHTTPURL(probs, "autoreg.url", a.URL)
		if e.URL == "" {
			probs.add("autoreg.url", "registration needs externals.url: the agent pulls the externals it is assigned from there")
		}
		if a.TokenFile == "" {
			probs.add("autoreg.token_file", "missing: the registration token's file")
		}
	}
	if a.TokenFile != "" {
		if err := CheckSecretFile(a.TokenFile); err != nil {
			probs.add("autoreg.token_file", err.Error())
		}
	}
	for i, m := range a.Metadata {
		if m == "" || strings.ContainsAny(m, " \t\r\n,") {
			probs.add("autoreg.metadata", "entry "+strconv.Itoa(i+1)+" must be one word")
		}
	}
}

func checkHTTPURL(probs *problems, field, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		probs.add(field, err.Error())
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		probs.add(field, fmt.Sprintf("%q is not an http(s) URL", s))
	}
}

// ParsePublicKey checks the form of an externals signing key,
// "ed25519:<base64 of 32 bytes>", and returns its bytes. The externals
// package verifies with it; the config only needs to refuse a typo.
func ParsePublicKey(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "ed25519:")
	if !ok {
		return nil, fmt.Errorf("%q: want \"ed25519:\" and the key in base64, as `picket server keygen` prints it", s)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%q: not a base64 ed25519 public key (32 bytes)", s)
	}
	return key, nil
}
