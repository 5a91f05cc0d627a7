package hub

import (
	"bytes"
	"cmp"
	"net/url"

	"github.com/BurntSushi/toml"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/nsca"
)

// Effective renders the config as picket server runs it: defaults filled
// in, the cipher by its name, the control channel's path. Secrets are
// never in it: the files that hold them are named, never read into it, and
// a password written into a URL is masked. nscaFrom, when not empty, is
// the nsca.cfg the [nsca] section was taken from (its password is left
// out, as every password is).
func (c *Config) Effective(nscaFrom string) ([]byte, error) {
	e := *c
	e.ControlSocket = ControlPath(c)
	if c.NSCA != nil {
		n := *c.NSCA
		n.Encryption = n.Method.String()
		n.ReadTimeout.Duration = cmp.Or(n.ReadTimeout.Duration, nsca.DefaultReadTimeout)
		n.MaxConns = cmp.Or(n.MaxConns, nsca.DefaultMaxConns)
		e.NSCA = &n
	}
	if c.Nagios != nil {
		n := *c.Nagios
		n.HostTemplate = cmp.Or(n.HostTemplate, nagios.DefaultHostTemplate)
		n.ServiceTemplate = cmp.Or(n.ServiceTemplate, nagios.DefaultServiceTemplate)
		n.CheckDummy = cmp.Or(n.CheckDummy, nagios.DefaultCheckDummy)
		n.StaleState = n.Stale.String()
		e.Nagios = &n
	}
	if c.Icinga2 != nil {
		ic := *c.Icinga2
		ic.URL = maskURL(ic.URL)
		e.Icinga2 = &ic
	}
	var b bytes.Buffer
	b.WriteString("# effective configuration of " + cmp.Or(c.File, "picket server") + "; secrets masked\n")
	if nscaFrom != "" {
		b.WriteString("# [nsca] taken from " + nscaFrom + " (its password is not shown)\n")
	}
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maskURL hides a password written into a URL's user info.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), config.Masked)
	}
	return u.String()
}
