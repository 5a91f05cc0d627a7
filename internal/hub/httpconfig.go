package hub

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/mattn/go-shellwords"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// HTTPConfig is [http]: the listener for externals and registration.
type HTTPConfig struct {
	Listen  string `toml:"listen"`
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
}

// ExternalsConfig is [externals]: the folder of every host's check list.
type ExternalsConfig struct {
	Dir string `toml:"dir"`
	// SigningKey, when set, signs every file written or served.
	SigningKey string `toml:"signing_key"`
	// NextSigningKey, when set, is the key the server rotates to: agents
	// that trust it get their files signed by it, the others are told of
	// it (their picket_externals warns until they trust it).
	NextSigningKey string `toml:"next_signing_key"`
	// RequireIdentity serves every file only to a request signed by an
	// agent's bound key. Without it, the files of hosts no key is bound
	// to (registered before identities, or written by hand for agents
	// that never register) are served to any client, as before; a bound
	// host's file never is.
	RequireIdentity bool `toml:"require_identity"`
}

// RegistrationConfig is [registration]: the endpoint agents register at.
type RegistrationConfig struct {
	TokensFile string `toml:"tokens_file"`
	Profiles   string `toml:"profiles"`
	// FQDN names hosts by their FQDN instead of the short name.
	FQDN bool `toml:"fqdn"`
	// Rate and Burst limit registrations per remote address.
	Rate  float64 `toml:"rate"`
	Burst int     `toml:"burst"`
	// GlobalRate and GlobalBurst limit them from all addresses together.
	GlobalRate  float64 `toml:"global_rate"`
	GlobalBurst int     `toml:"global_burst"`
	// MaxNewHostsPerHour, when above 0, caps how many hosts the registry
	// did not know may register in any hour.
	MaxNewHostsPerHour int `toml:"max_new_hosts_per_hour"`
}

// NagiosConfig is [nagios]: object files for registered hosts.
type NagiosConfig struct {
	ObjectsDir      string `toml:"objects_dir"`
	ValidateCommand string `toml:"validate_command"`
	// ReloadCommand empty: RESTART_PROGRAM through CommandFile.
	ReloadCommand string `toml:"reload_command"`
	// CommandFile empty: [nsca] command_file.
	CommandFile     string `toml:"command_file"`
	HostTemplate    string `toml:"host_template"`
	ServiceTemplate string `toml:"service_template"`
	CheckDummy      string `toml:"check_dummy"`
	// StaleState is the state a service without fresh results turns.
	StaleState string `toml:"stale_state"`
	// FreshnessSlack is added to twice a check's interval (and its
	// timeout) to get its freshness threshold.
	FreshnessSlack tomlfile.Duration `toml:"freshness_slack"`
	// HealthInterval is the agents' [health] interval, for the freshness
	// of their own services when an agent did not say.
	HealthInterval tomlfile.Duration `toml:"health_interval"`
	// ScanInterval is how often the externals folder is looked at for
	// files an administrator changed.
	ScanInterval tomlfile.Duration `toml:"scan_interval"`
	// MinReloadInterval is the least time between two objects updates,
	// so a storm of registrations costs Nagios a bounded number of
	// reloads.
	MinReloadInterval tomlfile.Duration `toml:"min_reload_interval"`

	// Resolved at load.
	Validate, Reload []string    `toml:"-"`
	Stale            check.State `toml:"-"`
}

// Defaults of the HTTP side.
const (
	DefaultHTTPListen     = "0.0.0.0:8443"
	DefaultServerStateDir = "/var/lib/picket/server"
	DefaultFreshnessSlack = 60 * time.Second
	DefaultScanInterval   = 30 * time.Second
	DefaultRegisterRate   = 1.0
	DefaultRegisterBurst  = 5
	DefaultGlobalRate     = 20.0
	DefaultGlobalBurst    = 100
	DefaultMinReload      = 10 * time.Second
)

func (c *Config) resolveHTTP(file string, data []byte) error {
	var probs []tomlfile.Problem
	add := func(field, msg string) {
		probs = append(probs, tomlfile.Problem{File: file, Line: tomlfile.FieldLine(data, field), Field: field, Msg: msg})
	}
	abs := func(field, p string) {
		if p != "" && !filepath.IsAbs(p) {
			add(field, fmt.Sprintf("%q is not an absolute path", p))
		}
	}
	exists := func(field, p string) {
		if p == "" {
			return
		}
		if _, err := os.Stat(p); err != nil {
			add(field, err.Error())
		}
	}
	if c.StateDir == "" {
		c.StateDir = DefaultServerStateDir
	}
	abs("state_dir", c.StateDir)
	if c.HTTP != nil {
		h := c.HTTP
		if h.Listen == "" {
			h.Listen = DefaultHTTPListen
		}
		if _, _, err := net.SplitHostPort(h.Listen); err != nil {
			add("http.listen", fmt.Sprintf("%q is not host:port", h.Listen))
		}
		if (h.TLSCert == "") != (h.TLSKey == "") {
			add("http.tls_cert", "TLS needs both tls_cert and tls_key")
		}
		exists("http.tls_cert", h.TLSCert)
		exists("http.tls_key", h.TLSKey)
		if h.TLSKey != "" {
			if err := config.CheckSecretFile(h.TLSKey); err != nil && !os.IsNotExist(err) {
				add("http.tls_key", err.Error())
			}
		}
		if c.Externals == nil && c.Registration == nil {
			add("http", "serves [externals] and [registration]; the config has neither")
		}
	}
	if e := c.Externals; e != nil {
		if e.Dir == "" {
			add("externals.dir", "missing: the folder of <host>.toml files")
		}
		abs("externals.dir", e.Dir)
		for _, k := range []struct{ field, path string }{{"externals.signing_key", e.SigningKey}, {"externals.next_signing_key", e.NextSigningKey}} {
			abs(k.field, k.path)
			exists(k.field, k.path)
			if k.path != "" {
				if err := config.CheckSecretFile(k.path); err != nil && !os.IsNotExist(err) {
					add(k.field, err.Error())
				}
			}
		}
		if e.NextSigningKey != "" && e.SigningKey == "" {
			add("externals.next_signing_key", "needs signing_key: the key it takes over from")
		}
	}
	if r := c.Registration; r != nil {
		if c.HTTP == nil {
			add("registration", "needs [http] to listen on")
		}
		if c.Externals == nil {
			add("registration", "needs [externals]: registration writes the host's externals file")
		}
		if r.TokensFile == "" {
			add("registration.tokens_file", "missing: the file of accepted registration tokens")
		}
		if r.Profiles == "" {
			add("registration.profiles", "missing: the profiles file (rules and templates)")
		}
		exists("registration.tokens_file", r.TokensFile)
		exists("registration.profiles", r.Profiles)
		if r.Rate == 0 {
			r.Rate = DefaultRegisterRate
		} else if r.Rate < 0 {
			add("registration.rate", "must not be negative")
		}
		if r.Burst == 0 {
			r.Burst = DefaultRegisterBurst
		} else if r.Burst < 0 {
			add("registration.burst", "must not be negative")
		}
		if r.GlobalRate == 0 {
			r.GlobalRate = DefaultGlobalRate
		} else if r.GlobalRate < 0 {
			add("registration.global_rate", "must not be negative")
		}
		if r.GlobalBurst == 0 {
			r.GlobalBurst = DefaultGlobalBurst
		} else if r.GlobalBurst < 0 {
			add("registration.global_burst", "must not be negative")
		}
		if r.MaxNewHostsPerHour < 0 {
			add("registration.max_new_hosts_per_hour", "must not be negative (0: no cap)")
		}
	}
	if n := c.Nagios; n != nil {
		if n.ObjectsDir == "" {
			add("nagios.objects_dir", "missing: the folder nagios.cfg includes with cfg_dir")
		}
		abs("nagios.objects_dir", n.ObjectsDir)
		if c.Externals == nil {
			add("nagios", "needs [externals]: the objects are made from the hosts' externals")
		}
		var err error
		if n.ValidateCommand != "" {
			if n.Validate, err = shellwords.Parse(n.ValidateCommand); err != nil || len(n.Validate) == 0 {
				add("nagios.validate_command", fmt.Sprintf("cannot split %q into arguments", n.ValidateCommand))
			}
		}
		if n.ReloadCommand != "" {
			if n.Reload, err = shellwords.Parse(n.ReloadCommand); err != nil || len(n.Reload) == 0 {
				add("nagios.reload_command", fmt.Sprintf("cannot split %q into arguments", n.ReloadCommand))
			}
		}
		if n.CommandFile == "" && c.NSCA != nil {
			n.CommandFile = c.NSCA.CommandFile
		}
		if n.ReloadCommand == "" && n.CommandFile == "" {
			add("nagios.reload_command", "missing, and no command_file for RESTART_PROGRAM ([nagios] or [nsca] command_file)")
		}
		n.Stale = check.Unknown
		if n.StaleState != "" {
			s, err := check.ParseState(n.StaleState)
			if err != nil {
				add("nagios.stale_state", err.Error())
			}
			n.Stale = s
		}
		if n.FreshnessSlack.Duration == 0 {
			n.FreshnessSlack.Duration = DefaultFreshnessSlack
		}
		if n.HealthInterval.Duration == 0 {
			n.HealthInterval.Duration = config.DefaultHealthInterval
		}
		if n.ScanInterval.Duration == 0 {
			n.ScanInterval.Duration = DefaultScanInterval
		} else if n.ScanInterval.Duration < time.Second {
			add("nagios.scan_interval", "at least 1s")
		}
		if n.MinReloadInterval.Duration == 0 {
			n.MinReloadInterval.Duration = DefaultMinReload
		} else if n.MinReloadInterval.Duration < syncDelay {
			add("nagios.min_reload_interval", fmt.Sprintf("at least %v", syncDelay))
		}
	}
	if len(probs) == 0 {
		return nil
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	return &tomlfile.Error{Problems: probs}
}
