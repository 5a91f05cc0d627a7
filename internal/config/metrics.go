package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Metrics is the [metrics] section, shared by the agent's and the server's
// config: where Prometheus metrics are served. Off unless listen is set.
// Only a loopback address is accepted unless allow_remote says otherwise,
// because the metrics name every host and service the process handles and
// the endpoint has no authentication: a scraper on the same host (or a
// tunnel, or a reverse proxy with TLS) is the expected reader.
type Metrics struct {
	Listen      string `toml:"listen"`
	AllowRemote bool   `toml:"allow_remote"`
}

// On reports whether metrics are served.
func (m Metrics) On() bool { return m.Listen != "" }

// Resolve reports each problem through add, with the field under
// "metrics.".
func (m *Metrics) Resolve(add func(field, msg string)) {
	if m.Listen == "" {
		return
	}
	host, port, err := net.SplitHostPort(m.Listen)
	if err != nil {
		add("metrics.listen", fmt.Sprintf("%q is not host:port (e.g. \"127.0.0.1:9464\")", m.Listen))
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		add("metrics.listen", fmt.Sprintf("%q: the port must be a number from 1 to 65535", m.Listen))
	}
	if m.AllowRemote {
		return
	}
	if !loopback(host) {
		add("metrics.listen", fmt.Sprintf("%q is not a loopback address: use 127.0.0.1, [::1] or localhost, or set allow_remote = true to serve metrics (which have no authentication) to the network", m.Listen))
	}
}

// loopback reports whether host names only this machine: a loopback IP or
// "localhost". An empty host is every interface.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
