package hub

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/internal/schedule"
)

// objectBuilder turns the externals folder and the registry into the
// Nagios objects of every host: each check of a host's externals, and what
// its agent reports besides (local checks, its own health services).
type objectBuilder struct {
	dir      string
	registry *autoreg.Registry
	nagios   *NagiosConfig
	logger   *slog.Logger

	// good is each host's last valid externals, so that an administrator's
	// typo does not take a host out of Nagios.
	good map[string]*externals.File
	// invalid is the SHA-256 of each host's invalid externals file as
	// last logged, so a file is reported once per version, not at every
	// scan, and its repair is reported too.
	invalid map[string]string
}

// errInvalidExternals is build's error when a host's externals file is
// invalid and no valid version of it is known: the objects are not
// synced. build has logged it.
var errInvalidExternals = errors.New("an externals file without a valid version is invalid")

// build returns every host's objects, and the SHA-256 of each externals
// file they were made from.
func (b *objectBuilder) build(now time.Time) ([]nagios.HostObject, map[string]string, error) {
	if b.good == nil {
		b.good = map[string]*externals.File{}
		b.invalid = map[string]string{}
	}
	ents, err := os.ReadDir(b.dir)
	if err != nil && !isNotExist(err) {
		return nil, nil, fmt.Errorf("externals.dir: %w", err)
	}
	byHost := map[string]*hostBuild{}
	get := func(name string) *hostBuild {
		h := byHost[name]
		if h == nil {
			h = &hostBuild{name: name, services: map[string]time.Duration{}}
			byHost[name] = h
		}
		return h
	}
	var bad []error
	present := map[string]bool{}
	shas := map[string]string{}
	for _, e := range ents {
		host, ok := strings.CutSuffix(e.Name(), ".toml")
		if !ok || !externals.ValidHost(host) || !b.isFile(e) {
			continue
		}
		present[host] = true
		path := filepath.Join(b.dir, e.Name())
		f, sum, err := b.parse(path, host)
		shas[host] = sum
		if err != nil {
			prev, had := b.good[host]
			b.reportInvalid(host, sum, had, err)
			if !had {
				bad = append(bad, err)
				continue
			}
			f = prev
		} else {
			b.reportValid(host, path)
			b.good[host] = f
		}
		get(host).check = f.HostCheck
		for _, c := range f.Checks {
			h := get(c.Host)
			if c.Host == host && c.HostAddress != "" && c.HostAddress != host {
				h.address = c.HostAddress
			}
			h.services[c.Service] = b.threshold(c, now)
		}
	}
	for host := range b.good {
		if !present[host] {
			delete(b.good, host)
		}
	}
	for host := range b.invalid {
		if !present[host] {
			delete(b.invalid, host)
		}
	}
	if len(bad) > 0 {
		// Without a valid version there is nothing to keep: leave every
		// object file alone rather than remove this host's.
		return nil, nil, fmt.Errorf("%w: %w", errInvalidExternals, errors.Join(bad...))
	}
	for _, e := range b.registry.List() {
		h := get(e.Host)
		if h.address == "" && len(e.Facts.Addresses) > 0 {
			h.address = e.Facts.Addresses[0]
		}
		if every := e.Facts.HostResultSeconds; every > 0 {
			h.freshness = b.threshold(check.Check{Interval: time.Duration(every) * time.Second}, now)
		}
		for _, s := range e.Facts.Services {
			target := h
			if s.Host != "" {
				target = get(s.Host)
			}
			if _, ok := target.services[s.Service]; ok {
				continue // the externals' definition of it wins
			}
			c := check.Check{
				Interval: time.Duration(s.IntervalSeconds) * time.Second,
				Cron:     s.Cron,
				Timeout:  time.Duration(s.TimeoutSeconds) * time.Second,
			}
			if c.Interval == 0 && c.Cron == "" {
				c.Interval = b.nagios.HealthInterval.Duration
			}
			target.services[s.Service] = b.threshold(c, now)
		}
	}
	out := make([]nagios.HostObject, 0, len(byHost))
	for _, h := range byHost {
		out = append(out, h.object())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, shas, nil
}

// reportInvalid logs an invalid externals file (its error names file, line
// and field) once for each version of it.
func (b *objectBuilder) reportInvalid(host, sum string, hadValid bool, err error) {
	if b.invalid[host] == sum {
		return
	}
	b.invalid[host] = sum
	if hadValid {
		b.logger.Error("invalid externals file: the host keeps its last valid externals and Nagios objects until it is fixed", "host", host, "err", err)
		return
	}
	b.logger.Error("invalid externals file, and no valid version of it is known: no host's Nagios objects change until it is fixed", "host", host, "err", err)
}

// reportValid logs the repair of a file reported invalid.
func (b *objectBuilder) reportValid(host, path string) {
	if _, was := b.invalid[host]; !was {
		return
	}
	delete(b.invalid, host)
	b.logger.Info("externals file valid again: its checks are in use", "host", host, "file", path)
}

// isFile reports whether e is what the externals handler serves: a
// regular file, or a symlink to one inside the folder (an alias of a
// host, whose agent needs its objects too).
func (b *objectBuilder) isFile(e fs.DirEntry) bool {
	if e.Type().IsRegular() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	root, err := os.OpenRoot(b.dir)
	if err != nil {
		return false
	}
	defer root.Close()
	st, err := root.Stat(e.Name())
	return err == nil && st.Mode().IsRegular()
}

func (b *objectBuilder) parse(path, host string) (*externals.File, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	f, err := externals.Parse(path, data, host)
	if err != nil {
		return nil, sha256Hex(data), err
	}
	return f, sha256Hex(data), nil
}

// threshold is how long Nagios waits for a service's next result before it
// calls it stale (schedule.Overdue, with the configured slack).
func (b *objectBuilder) threshold(c check.Check, now time.Time) time.Duration {
	return schedule.Overdue(c, now, b.nagios.FreshnessSlack.Duration)
}

type hostBuild struct {
	name, address string
	// check is the externals' host_check; freshness comes from how often
	// the host's agent said it reports the host.
	check     string
	freshness time.Duration
	services  map[string]time.Duration
}

func (h *hostBuild) object() nagios.HostObject {
	o := nagios.HostObject{Name: h.name, Address: h.address, CheckCommand: h.check, Freshness: h.freshness}
	names := make([]string, 0, len(h.services))
	for n := range h.services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n == "" {
			continue // a host check: the host object itself
		}
		o.Services = append(o.Services, nagios.ServiceObject{Name: n, Freshness: h.services[n]})
	}
	return o
}
