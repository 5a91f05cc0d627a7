package autoreg

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/signing"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// maxSeconds is the longest duration a registration may state: beyond
// it, seconds no longer fit a time.Duration.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// checkRequest refuses facts that would reach Nagios' object files or
// command pipe unsafely, and services the agent itself would refuse: each
// is validated as a [[check]] of the agent's config is, with the same
// messages (cron, durations, names), under its field in the request
// (services[2].cron). host is the name the host is assigned. Every
// problem is reported at once.
func checkRequest(req Request, host string) error {
	probs := tomlfile.NewProblems("registration", nil)
	checkServices(probs, req.Services, host)
	for i, m := range req.Metadata {
		if !printable(m) {
			probs.Add(fmt.Sprintf("metadata[%d]", i), "holds control characters")
		}
	}
	for i, p := range req.Plugins {
		if !printable(p.Name) || strings.ContainsAny(p.Name, `/\`) {
			probs.Add(fmt.Sprintf("plugins[%d].name", i), "is not a file name")
		}
	}
	// The first address becomes the host's address in Nagios' objects:
	// anything but an address could break the file for every host.
	for i, a := range req.Addresses {
		if net.ParseIP(a) == nil {
			probs.Add(fmt.Sprintf("addresses[%d]", i), fmt.Sprintf("%q is not an IP address", truncate(a, 60)))
		}
	}
	for i, m := range req.MACs {
		if !printable(m) || len(m) > 64 {
			probs.Add(fmt.Sprintf("macs[%d]", i), "is not a MAC address")
		}
	}
	for _, f := range []struct{ name, v string }{{"os", req.OS}, {"os_version", req.OSVersion}, {"arch", req.Arch},
		{"fqdn", req.FQDN}, {"agent_version", req.AgentVersion}} {
		if !printable(f.v) {
			probs.Add(f.name, "holds control characters")
		}
	}
	if req.PublicKey != "" {
		if _, err := signing.ParsePublicKey(req.PublicKey); err != nil {
			probs.Add("public_key", err.Error())
		}
	}
	return requestError(probs.Err())
}

// checkServices validates the services as checkspec.Resolve validates an
// agent's [[check]] list.
func checkServices(probs *tomlfile.Problems, services []Service, host string) {
	specs := make([]checkspec.Spec, len(services))
	for i, s := range services {
		f := fmt.Sprintf("services[%d]", i)
		for _, d := range []struct {
			field string
			v     int64
		}{{".interval_s", s.IntervalSeconds}, {".timeout_s", s.TimeoutSeconds}} {
			switch {
			case d.v < 0:
				probs.Add(f+d.field, "must not be negative")
			case d.v > maxSeconds:
				probs.Add(f+d.field, fmt.Sprintf("%d seconds is longer than a duration can be", d.v))
			}
		}
		if s.Host != "" && !ValidHost(s.Host) {
			probs.Add(f+".host", fmt.Sprintf("%q is not a valid host name (letters, digits, '.', '_' and '-', at most 63 bytes)", truncate(s.Host, 80)))
		}
		if !printable(s.Service) {
			probs.Add(f+".service", "holds control characters")
		}
		// The command is the agent's business; the schedule, timeout
		// and names are what the server turns into Nagios objects.
		specs[i] = checkspec.Spec{
			Service: s.Service, Host: s.Host, Command: "registered", Cron: s.Cron,
			Interval: tomlfile.Duration{Duration: secs(s.IntervalSeconds)},
			Timeout:  tomlfile.Duration{Duration: secs(s.TimeoutSeconds)},
		}
	}
	inner := tomlfile.NewProblems(probs.File(), nil)
	checkspec.Resolve(inner, specs, checkspec.Defaults{}, nil, host, "")
	var te *tomlfile.Error
	if errors.As(inner.Err(), &te) {
		for _, p := range te.Problems {
			probs.Add(serviceField(p.Field), p.Msg)
		}
	}
}

func secs(n int64) time.Duration {
	if n < 0 || n > maxSeconds {
		return 0
	}
	return time.Duration(n) * time.Second
}

// serviceField names a check's field as the request does:
// check[2].interval is services[2].interval_s.
func serviceField(f string) string {
	f = strings.Replace(f, "check[", "services[", 1)
	for _, d := range []string{".interval", ".timeout"} {
		if strings.HasSuffix(f, d) {
			return f + "_s"
		}
	}
	return f
}

// requestError turns the problems into one ErrBadRequest listing them.
func requestError(err error) error {
	var te *tomlfile.Error
	if !errors.As(err, &te) {
		return nil
	}
	msgs := make([]string, len(te.Problems))
	for i, p := range te.Problems {
		msgs[i] = p.Field + ": " + p.Msg
	}
	return fmt.Errorf("%w: %s", ErrBadRequest, strings.Join(msgs, "; "))
}
