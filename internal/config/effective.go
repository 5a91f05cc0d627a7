package config

import (
	"bytes"
	"cmp"
	"net/url"

	"github.com/BurntSushi/toml"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// Masked stands in for a value that may be a secret.
const Masked = "********"

// Effective renders the config as the agent runs it: defaults filled in,
// the host name derived, disabled checks left out, every check with all
// of its fields. Values that may be secrets are masked: [macros] (which in
// Nagios' resource.cfg tradition often hold passwords) unless showMacros,
// and passwords in URLs. Secret files are named, never read into it.
func (c *Config) Effective(showMacros bool) ([]byte, error) {
	e := effective{
		Hostname:            c.Hostname,
		HostAddress:         cmp.Or(c.HostAddress, c.Hostname),
		PluginDirs:          c.PluginDirs,
		AllowPluginsOutside: c.AllowPluginsOutside,
		Interpreters:        c.Interpreters,
		MaxOutput:           c.MaxOutput,
		KillGrace:           tomlfile.Duration{Duration: c.KillGrace.Duration},
		Concurrency:         c.Concurrency,
		StateDir:            c.StateDir,
		SecretsFile:         c.SecretsFile,
		SpoolDir:            c.SpoolDir,
		Spool:               c.Spool,
		Externals:           c.Externals,
		Autoreg:             c.Autoreg,
		Log:                 c.Log,
		Metrics:             c.Metrics,
		Macros:              map[string]string{},
		Health: effHealth{
			Enabled:          c.Health.On(),
			Interval:         c.Health.Interval,
			PollerService:    c.Health.PollerService,
			SpoolerService:   c.Health.SpoolerService,
			ExternalsService: c.Health.ExternalsService,
			BacklogWarning:   c.Health.BacklogWarning,
			BacklogCritical:  c.Health.BacklogCritical,
			LossAlert:        c.Health.LossAlert,
			ClockSkewWarning: c.Health.ClockSkewWarning,
			HostResult:       c.Health.HostResultOn(),
		},
	}
	e.Externals.URL = maskURL(e.Externals.URL)
	e.Autoreg.URL = maskURL(e.Autoreg.URL)
	e.Externals.Proxy = maskURL(e.Externals.Proxy)
	for _, t := range c.Targets {
		et := effTarget{Kind: t.Kind, Group: t.Group, PasswordFile: t.PasswordFile, Timeout: t.Timeout}
		if t.Kind == KindIcinga2 {
			et.URL, et.User, et.CertFile, et.KeyFile, et.CAFile, et.ServerName = maskURL(t.URL), t.User, t.CertFile, t.KeyFile, t.CAFile, t.ServerName
		} else {
			et.Address, et.Encryption, et.Legacy = t.Address, t.Method.String(), t.Legacy
		}
		e.Targets = append(e.Targets, et)
	}
	for k, v := range c.Macros {
		if !showMacros {
			v = Masked
		}
		e.Macros[k] = v
	}
	for _, ch := range c.Checks {
		ec := effCheck{
			Host:         ch.Host,
			HostAddress:  ch.HostAddress,
			Service:      ch.Service,
			Command:      ch.Command,
			Shell:        ch.Shell,
			Cron:         ch.Cron,
			Timeout:      tomlfile.Duration{Duration: ch.Timeout},
			TimeoutState: ch.TimeoutState,
			MaxAttempts:  ch.MaxAttempts,
		}
		if ch.Cron == "" {
			ec.Interval = &tomlfile.Duration{Duration: ch.Interval}
		}
		if ch.MaxAttempts > 1 {
			ec.RetryInterval = &tomlfile.Duration{Duration: ch.RetryInterval}
		}
		if ch.Watch {
			ec.Mode, ec.WatchInterval = "watch", &tomlfile.Duration{Duration: ch.WatchInterval}
		}
		if ch.SendOnChange {
			ec.Send, ec.Heartbeat, ec.OnOutput = "change", &tomlfile.Duration{Duration: ch.Heartbeat}, ch.SendOnOutputChange
		}
		e.Checks = append(e.Checks, ec)
	}
	var b bytes.Buffer
	b.WriteString("# effective configuration of " + c.File + "; secrets masked\n")
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type effective struct {
	Hostname            string              `toml:"hostname"`
	HostAddress         string              `toml:"host_address"`
	PluginDirs          []string            `toml:"plugin_dirs"`
	AllowPluginsOutside bool                `toml:"allow_plugins_outside"`
	MaxOutput           int                 `toml:"max_output"`
	KillGrace           tomlfile.Duration   `toml:"kill_grace"`
	Concurrency         int                 `toml:"concurrency"`
	StateDir            string              `toml:"state_dir"`
	SecretsFile         string              `toml:"secrets_file"`
	SpoolDir            string              `toml:"spool_dir"`
	Spool               Spool               `toml:"spool"`
	Interpreters        map[string][]string `toml:"interpreters,omitempty"`
	Macros              map[string]string   `toml:"macros,omitempty"`
	Targets             []effTarget         `toml:"target,omitempty"`
	Health              effHealth           `toml:"health"`
	Externals           Externals           `toml:"externals,omitempty"`
	Autoreg             Autoreg             `toml:"autoreg,omitempty"`
	Log                 Log                 `toml:"log"`
	Metrics             Metrics             `toml:"metrics"`
	Checks              []effCheck          `toml:"check,omitempty"`
}

type effHealth struct {
	Enabled          bool              `toml:"enabled"`
	Interval         tomlfile.Duration `toml:"interval"`
	PollerService    string            `toml:"poller_service"`
	SpoolerService   string            `toml:"spooler_service"`
	ExternalsService string            `toml:"externals_service"`
	BacklogWarning   tomlfile.Duration `toml:"backlog_warning"`
	BacklogCritical  tomlfile.Duration `toml:"backlog_critical"`
	LossAlert        tomlfile.Duration `toml:"loss_alert"`
	ClockSkewWarning tomlfile.Duration `toml:"clock_skew_warning"`
	HostResult       bool              `toml:"host_result"`
}

type effTarget struct {
	Kind         string            `toml:"kind"`
	Address      string            `toml:"address,omitempty"`
	URL          string            `toml:"url,omitempty"`
	User         string            `toml:"user,omitempty"`
	CertFile     string            `toml:"cert_file,omitempty"`
	KeyFile      string            `toml:"key_file,omitempty"`
	CAFile       string            `toml:"ca_file,omitempty"`
	ServerName   string            `toml:"server_name,omitempty"`
	Group        string            `toml:"group,omitempty"`
	Encryption   string            `toml:"encryption,omitempty"`
	PasswordFile string            `toml:"password_file,omitempty"`
	Legacy       bool              `toml:"legacy,omitempty"`
	Timeout      tomlfile.Duration `toml:"timeout,omitempty"`
}

type effCheck struct {
	Service       string             `toml:"service"`
	Host          string             `toml:"host"`
	HostAddress   string             `toml:"host_address"`
	Command       string             `toml:"command"`
	Shell         bool               `toml:"shell,omitempty"`
	Interval      *tomlfile.Duration `toml:"interval,omitempty"`
	Cron          string             `toml:"cron,omitempty"`
	Timeout       tomlfile.Duration  `toml:"timeout"`
	TimeoutState  check.State        `toml:"timeout_state"`
	MaxAttempts   int                `toml:"max_attempts"`
	RetryInterval *tomlfile.Duration `toml:"retry_interval,omitempty"`
	Mode          string             `toml:"mode,omitempty"`
	WatchInterval *tomlfile.Duration `toml:"watch_interval,omitempty"`
	Send          string             `toml:"send,omitempty"`
	Heartbeat     *tomlfile.Duration `toml:"heartbeat,omitempty"`
	OnOutput      bool               `toml:"send_on_output_change,omitempty"`
}

// maskURL hides a password written into a URL's user info.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), Masked)
	}
	return u.String()
}
