package config

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/sysdir"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// Defaults of the plugin runner's and the poller's settings. They are the
// config's to choose, since the file is where a user sees and changes them;
// the components keep defaults of their own only for callers without a
// config (a test, a library user), and the agent's tests hold the two equal.
const (
	DefaultMaxOutput = 64 << 10
	DefaultKillGrace = 5 * time.Second
)

// DefaultConcurrency is how many plugins run at once when the file does
// not say: most plugins wait on I/O, so four per core keeps the cores busy
// without letting a burst of slow checks fork hundreds of processes.
func DefaultConcurrency() int { return 4 * runtime.GOMAXPROCS(0) }

// applyDefaults fills what the file left out and the system can tell.
func (c *Config) applyDefaults(probs *tomlfile.Problems) {
	if c.Hostname == "" {
		h, err := systemHostname(c.HostnameFQDN)
		if err != nil {
			probs.Add("hostname", "empty, and the system's host name cannot be read: "+err.Error())
		}
		c.Hostname = h
	}
	if c.HostnameLowercase == nil || *c.HostnameLowercase {
		c.Hostname = strings.ToLower(c.Hostname)
	}
	checkspec.CheckName(probs, "hostname", "host", c.Hostname, checkspec.MaxHostLen)
	if len(c.PluginDirs) == 0 {
		c.PluginDirs = DefaultPluginDirs()
	}
	// Filled in here so the effective config shows what will run.
	if c.MaxOutput == 0 {
		c.MaxOutput = DefaultMaxOutput
	}
	if c.KillGrace.Duration == 0 {
		c.KillGrace.Duration = DefaultKillGrace
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency()
	}
	if c.Health.Interval.Duration == 0 {
		c.Health.Interval.Duration = DefaultHealthInterval
	} else if c.Health.Interval.Duration < 10*time.Second {
		probs.Add("health.interval", "report at most every 10s (the default is 5m)")
	}
	if c.Health.PollerService == "" {
		c.Health.PollerService = DefaultPollerService
	}
	checkspec.CheckName(probs, "health.poller_service", "service", c.Health.PollerService, checkspec.MaxServiceLen)
}

// DefaultPluginDirs is where the platform's Nagios plugins live, then the
// agent's own drop-in folder. The first is $USER1$, so on a system that
// keeps its plugins under lib64 (Red Hat) that one comes first.
func DefaultPluginDirs() []string {
	if runtime.GOOS == "windows" {
		return []string{filepath.Join(programData(), "picket", "plugins")}
	}
	nagios := "/usr/lib/nagios/plugins"
	if _, err := os.Stat(nagios); err != nil {
		if _, err := os.Stat("/usr/lib64/nagios/plugins"); err == nil {
			nagios = "/usr/lib64/nagios/plugins"
		}
	}
	return []string{nagios, "/etc/picket/plugins.d"}
}

// programData is the known folder, which the MSI and the service see too.
func programData() string { return sysdir.ProgramData() }

// systemHostname is the kernel's host name, short unless fqdn asks for the
// name DNS (or /etc/hosts) gives it. A lookup that fails keeps the kernel's
// name rather than failing the agent: a short name is still a usable one.
func systemHostname(fqdn bool) (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", err
	}
	if !fqdn {
		short, _, _ := strings.Cut(h, ".")
		return short, nil
	}
	if strings.Contains(h, ".") {
		return h, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if cname, err := net.DefaultResolver.LookupCNAME(ctx, h); err == nil {
		if name := strings.TrimSuffix(cname, "."); strings.Contains(name, ".") {
			return name, nil
		}
	}
	return h, nil
}
