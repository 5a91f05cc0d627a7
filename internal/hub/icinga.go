package hub

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/picket-monitoring/picket/icinga2"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// IcingaConfig is the [icinga2] section: registered hosts and their
// services are created in Icinga 2 through its API (no reload), as
// [nagios] writes them as object files for Nagios.
type IcingaConfig struct {
	URL              string            `toml:"url"`
	User             string            `toml:"user"`
	PasswordFile     string            `toml:"password_file"`
	CertFile         string            `toml:"cert_file"`
	KeyFile          string            `toml:"key_file"`
	CAFile           string            `toml:"ca_file"`
	ServerName       string            `toml:"server_name"`
	HostTemplates    []string          `toml:"host_templates"`
	ServiceTemplates []string          `toml:"service_templates"`
	FreshnessSlack   tomlfile.Duration `toml:"freshness_slack"`
	HealthInterval   tomlfile.Duration `toml:"health_interval"`

	password []byte
}

// resolve checks the section; every problem on its line.
func (ic *IcingaConfig) resolve(probs *tomlfile.Problems) {
	if !strings.HasPrefix(ic.URL, "https://") {
		probs.Add("icinga2.url", fmt.Sprintf("%q: want Icinga 2's API as an https URL, e.g. \"https://icinga.example.com:5665\"", ic.URL))
	}
	switch {
	case ic.CertFile != "" || ic.KeyFile != "":
		if ic.CertFile == "" || ic.KeyFile == "" {
			probs.Add("icinga2.cert_file", "a client certificate needs both cert_file and key_file")
		}
	case ic.User == "" || ic.PasswordFile == "":
		probs.Add("icinga2.user", "Icinga 2 needs user and password_file, or cert_file and key_file")
	default:
		pw, err := config.ReadSecret(ic.PasswordFile)
		if err == nil {
			err = config.CheckSecretFile(ic.PasswordFile)
		}
		if err != nil {
			probs.Add("icinga2.password_file", err.Error())
		}
		ic.password = pw
	}
	if ic.CAFile != "" {
		if _, err := os.Stat(ic.CAFile); err != nil {
			probs.Add("icinga2.ca_file", err.Error())
		}
	}
	if ic.FreshnessSlack.Duration == 0 {
		ic.FreshnessSlack.Duration = DefaultFreshnessSlack
	}
	if ic.HealthInterval.Duration == 0 {
		ic.HealthInterval.Duration = config.DefaultHealthInterval
	}
}

// icingaObjects creates the hosts and services the builder finds in Icinga
// 2, once each: an object that exists already (made by an administrator,
// or by an earlier run) is left as it is, since Icinga's PUT does not
// update. Each service gets check_command "passive" with active checks on
// and its freshness threshold as check_interval, so Icinga turns it UNKNOWN
// when the agent's results stop; the agent's own results carry the same
// figure as their ttl.
type icingaObjects struct {
	cfg     *IcingaConfig
	client  *icinga2.Client
	logger  *slog.Logger
	created map[string]bool // "host" and "host!service" known to exist
}

func newIcingaObjects(ic *IcingaConfig, logger *slog.Logger) (*icingaObjects, error) {
	c, err := icinga2.New(icinga2.Config{URL: ic.URL, User: ic.User, Password: string(ic.password),
		CertFile: ic.CertFile, KeyFile: ic.KeyFile, CAFile: ic.CAFile, ServerName: ic.ServerName})
	if err != nil {
		return nil, fmt.Errorf("icinga2: %w", err)
	}
	return &icingaObjects{cfg: ic, client: c, logger: logger, created: map[string]bool{}}, nil
}

// sync creates what hosts hold and Icinga lacks. It returns the first
// error; what it created before stays created.
func (o *icingaObjects) sync(ctx context.Context, hosts []nagios.HostObject) error {
	var made []string
	for _, h := range hosts {
		if !o.created[h.Name] {
			attrs := map[string]any{"check_command": "dummy", "enable_active_checks": false}
			if h.Address != "" {
				attrs["address"] = h.Address
			}
			if _, err := o.client.PutHost(ctx, h.Name, o.cfg.HostTemplates, attrs); err != nil {
				return fmt.Errorf("create host %s in Icinga 2: %w", h.Name, err)
			}
			o.created[h.Name] = true
			made = append(made, h.Name)
		}
		for _, s := range h.Services {
			name := h.Name + "!" + s.Name
			if o.created[name] {
				continue
			}
			attrs := map[string]any{"check_command": "passive", "enable_active_checks": true,
				"check_interval": s.Freshness.Seconds(), "retry_interval": s.Freshness.Seconds()}
			if _, err := o.client.PutService(ctx, h.Name, s.Name, o.cfg.ServiceTemplates, attrs); err != nil {
				return fmt.Errorf("create service %s in Icinga 2: %w", name, err)
			}
			o.created[name] = true
			made = append(made, name)
		}
	}
	if len(made) > 0 {
		slices.Sort(made)
		o.logger.Info("Icinga 2 objects created", "objects", made)
	}
	return nil
}
