package config

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/sysdir"
	"github.com/picket-monitoring/picket/plugins"
	"github.com/picket-monitoring/picket/poller"
)

// applyDefaults fills what the file left out and the system can tell.
func (c *Config) applyDefaults(probs *problems) {
	if c.Hostname == "" {
		h, err := systemHostname(c.HostnameFQDN)
		if err != nil {
			probs.add("hostname", "empty, and the system's host name cannot be read: "+err.Error())
		}
		c.Hostname = h
	}
	if c.HostnameLowercase == nil || *c.HostnameLowercase {
		c.Hostname = strings.ToLower(c.Hostname)
	}
	checkName(probs, "hostname", "host", c.Hostname, maxHostLen)
	if len(c.PluginDirs) == 0 {
		c.PluginDirs = DefaultPluginDirs()
	}
	// The runner's and the poller's own defaults, filled in here so the
	// effective config shows what will run.
	if c.MaxOutput == 0 {
		c.MaxOutput = plugins.DefaultMaxOutput
	}
	if c.KillGrace.Duration == 0 {
		c.KillGrace.Duration = plugins.DefaultKillGrace
	}
	if c.Concurrency == 0 {
		c.Concurrency = poller.DefaultConcurrency()
	}
	if c.Health.Interval.Duration == 0 {
		c.Health.Interval.Duration = DefaultHealthInterval
	} else if c.Health.Interval.Duration < 10*time.Second {
		probs.add("health.interval", "report at most every 10s (the default is 5m)")
	}
	if c.Health.PollerService == "" {
		c.Health.PollerService = DefaultPollerService
	}
	checkName(probs, "health.poller_service", "service", c.Health.PollerService, maxServiceLen)
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
