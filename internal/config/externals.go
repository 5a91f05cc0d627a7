package config

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/signing"
	"github.com/picket-monitoring/picket/internal/tomlfile"
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

func (c *Config) applyExternalsDefaults(probs *tomlfile.Problems) {
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	} else if !filepath.IsAbs(c.StateDir) {
		probs.Add("state_dir", fmt.Sprintf("%q is not an absolute path", c.StateDir))
	}
	h := &c.Health
	if h.ExternalsService == "" {
		h.ExternalsService = DefaultExternalsService
	}
	checkspec.CheckName(probs, "health.externals_service", "service", h.ExternalsService, checkspec.MaxServiceLen)
	if h.ExternalsService == h.PollerService || h.ExternalsService == h.SpoolerService {
		probs.Add("health.externals_service", fmt.Sprintf("%q is already the poller's or the spooler's service", h.ExternalsService))
	}

	e := &c.Externals
	if e.Interval.Duration == 0 {
		e.Interval.Duration = DefaultExternalsInterval
	} else if e.Interval.Duration < minExternalsInterval {
		probs.Add("externals.interval", fmt.Sprintf("%v is shorter than the minimum %v", e.Interval.Duration, minExternalsInterval))
	}
	if e.MaxStale.Duration == 0 {
		e.MaxStale.Duration = DefaultExternalsMaxStale
	} else if e.MaxStale.Duration < e.Interval.Duration {
		probs.Add("externals.max_stale", fmt.Sprintf("%v is shorter than the interval %v", e.MaxStale.Duration, e.Interval.Duration))
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
			probs.Add(f.field, err.Error())
		}
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		probs.Add("externals.cert_file", "a client certificate needs both cert_file and key_file")
	}
	if e.KeyFile != "" {
		if err := CheckSecretFile(e.KeyFile); err != nil {
			probs.Add("externals.key_file", err.Error())
		}
	}
	if e.PublicKey != "" {
		if _, err := signing.ParsePublicKey(e.PublicKey); err != nil {
			probs.Add("externals.public_key", err.Error())
		}
	}
	for i, k := range e.PublicKeys {
		if _, err := signing.ParsePublicKey(k); err != nil {
			probs.Add("externals.public_keys", fmt.Sprintf("entry %d: %v", i+1, err))
		}
	}
	checkProxy(probs, e.Proxy)
	for i, p := range e.PinSHA256 {
		if p == PinEnrollment {
			continue
		}
		if raw, err := base64.StdEncoding.DecodeString(p); err != nil || len(raw) != sha256.Size {
			probs.Add("externals.pin_sha256", fmt.Sprintf("entry %d: %q is not the base64 of a SHA-256 (44 characters), nor %q", i+1, p, PinEnrollment))
		}
	}
	seen := map[string]bool{c.Hostname: true}
	for i, h := range e.MonitoredHosts {
		f := "externals.monitored_hosts"
		checkspec.CheckName(probs, f, "host", h, checkspec.MaxHostLen)
		if strings.ContainsAny(h, "/\\") || strings.Contains(h, "..") {
			probs.Add(f, fmt.Sprintf("entry %d (%q) is not a host name", i+1, h))
		} else if seen[h] {
			probs.Add(f, fmt.Sprintf("entry %d (%q) is listed twice or is this agent's own host", i+1, h))
		}
		seen[h] = true
	}
	if len(e.MonitoredHosts) > 0 && e.URL == "" {
		probs.Add("externals.monitored_hosts", "needs externals.url to pull those hosts' externals from")
	}

	a := &c.Autoreg
	if a.MaxBackoff.Duration == 0 {
		a.MaxBackoff.Duration = DefaultAutoregBackoff
	} else if a.MaxBackoff.Duration < time.Second {
		probs.Add("autoreg.max_backoff", "at least 1s")
	}
	if a.URL != "" {
		checkHTTPURL(probs, "autoreg.url", a.URL)
		if e.URL == "" {
			probs.Add("autoreg.url", "registration needs externals.url: the agent pulls the externals it is assigned from there")
		}
		if a.TokenFile == "" {
			probs.Add("autoreg.token_file", "missing: the registration token's file")
		}
	}
	// A missing token file is no error: an agent whose key is bound
	// needs none, and the administrator may remove it after enrollment.
	// A registration that needs it says so.
	if a.TokenFile != "" {
		if err := CheckSecretFile(a.TokenFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			probs.Add("autoreg.token_file", err.Error())
		}
	}
	for i, m := range a.Metadata {
		if m == "" || strings.ContainsAny(m, " \t\r\n,") {
			probs.Add("autoreg.metadata", "entry "+strconv.Itoa(i+1)+" must be one word")
		}
	}
}

// PinEnrollment in pin_sha256 stands for the pins of the certificate chain
// the server presented at the agent's registration.
const PinEnrollment = "enrollment"

// ProxyDirect as [externals] proxy goes to the server directly, whatever
// the environment's proxy variables say.
const ProxyDirect = "direct"

func checkProxy(probs *tomlfile.Problems, p string) {
	if p == "" || p == ProxyDirect {
		return
	}
	u, err := url.Parse(p)
	switch {
	case err != nil:
		probs.Add("externals.proxy", err.Error())
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5" || u.Host == "":
		probs.Add("externals.proxy", fmt.Sprintf("%q: want http://host:port (or https://, socks5://), or %q", u.Redacted(), ProxyDirect))
	}
}

func checkHTTPURL(probs *tomlfile.Problems, field, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		probs.Add(field, err.Error())
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		probs.Add(field, fmt.Sprintf("%q is not an http(s) URL", s))
	}
}
