package autoreg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// FactOptions is what the agent knows about itself that the system cannot
// tell: its configured name, tags, plugin folders and own services.
type FactOptions struct {
	Hostname     string // empty: os.Hostname
	Metadata     []string
	PluginDirs   []string
	AgentVersion string
	Services     []Service
	// HostResultEvery is how often the agent reports its host; 0: never.
	HostResultEvery time.Duration
}

// Limits of the plugin inventory: a plugin folder is not supposed to hold
// a data set, and registration must not stall on hashing one.
const (
	maxPlugins    = 2000
	maxPluginSize = 64 << 20
)

// fqdnTimeout bounds the DNS lookups even under a context without a
// deadline: a host with a broken resolver must still register, just
// without its FQDN.
const fqdnTimeout = 5 * time.Second

// Facts gathers the registration request from the system. Everything is
// best effort: a fact that cannot be found is left empty rather than
// failing the registration, because the server decides what it needs.
func Facts(ctx context.Context, o FactOptions) Request {
	host := o.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	req := Request{
		Hostname:     host,
		OS:           runtime.GOOS,
		OSVersion:    osVersion(),
		Arch:         runtime.GOARCH,
		AgentVersion: o.AgentVersion,
		Metadata:     slices.Clone(o.Metadata),
		Services:     slices.Clone(o.Services),

		HostResultSeconds: int64(o.HostResultEvery.Seconds()),
	}
	req.FQDN = lookupFQDN(ctx, host)
	req.Addresses, req.MACs = interfaceFacts()
	req.Plugins = pluginInventory(ctx, o.PluginDirs)
	return req
}

// lookupFQDN asks the resolver for host's canonical name, then for the
// names of its addresses, the way hostname -f does without running it.
func lookupFQDN(ctx context.Context, host string) string {
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return ""
	}
	if strings.Contains(host, ".") {
		return host
	}
	ctx, cancel := context.WithTimeout(ctx, fqdnTimeout)
	defer cancel()
	r := net.DefaultResolver
	if cname, err := r.LookupCNAME(ctx, host); err == nil {
		if name := strings.TrimSuffix(cname, "."); strings.Contains(name, ".") {
			return name
		}
	}
	addrs, err := r.LookupHost(ctx, host)
	if err != nil {
		return ""
	}
	prefix := strings.ToLower(host) + "."
	for _, a := range addrs {
		names, err := r.LookupAddr(ctx, a)
		if err != nil {
			continue
		}
		for _, n := range names {
			n = strings.TrimSuffix(n, ".")
			if strings.HasPrefix(strings.ToLower(n), prefix) {
				return n
			}
		}
	}
	return ""
}

// interfaceFacts lists the addresses the server could reach the host on:
// IPv4 first, because templates use the first one as the host address
// and Nagios setups are mostly IPv4. Loopback and link-local addresses
// are left out, as are interfaces that are down.
func interfaceFacts() (addrs, macs []string) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, nil
	}
	var v4, v6 []string
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		if mac := ifc.HardwareAddr.String(); mac != "" && !slices.Contains(macs, mac) {
			macs = append(macs, mac)
		}
		as, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := ipn.IP
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
				continue
			}
			if ip.To4() != nil {
				v4 = append(v4, ip.String())
			} else {
				v6 = append(v6, ip.String())
			}
		}
	}
	return append(v4, v6...), macs
}

// pluginInventory hashes the files directly in each plugin folder. A name
// found in an earlier folder hides the same name in later ones, as the
// plugin lookup does, so the inventory says what the agent would run.
func pluginInventory(ctx context.Context, dirs []string) []Plugin {
	var out []Plugin
	seen := map[string]bool{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if len(out) >= maxPlugins || ctx.Err() != nil {
				return out
			}
			name := e.Name()
			if seen[name] {
				continue
			}
			// Stat follows symlinks: Debian's plugin folder links
			// several names to one binary, and each is a plugin.
			path := filepath.Join(dir, name)
			st, err := os.Stat(path)
			if err != nil || !st.Mode().IsRegular() || st.Size() > maxPluginSize {
				continue
			}
			sum, err := hashFile(ctx, path)
			if err != nil {
				continue
			}
			seen[name] = true
			out = append(out, Plugin{Name: name, SHA256: sum})
		}
	}
	return out
}

func hashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	// The limit guards against a file that grew after the stat.
	if _, err := io.Copy(h, io.LimitReader(ctxReader{ctx, f}, maxPluginSize+1)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops a long read when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
