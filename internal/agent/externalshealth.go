package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/signing"
)

// report is the agent's externals service: which version of each host's
// externals runs, when the server last confirmed it, and what went wrong.
//
// A rejected download (invalid, oversized, badly signed) is CRITICAL: an
// administrator's change is not running. So is auto-config mode (nothing
// confirmed for max_stale) and a 404 with no way to register. A server that
// failed two pulls in a row, or a registration under way, is a WARNING:
// the last-known-good still runs.
func (m *extManager) report(now time.Time) check.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := check.Result{Host: m.cfg.Hostname, Service: m.cfg.Health.ExternalsService, State: check.OK, CheckTime: now}
	var problems, lines []string
	total := 0
	var oldest time.Duration
	raise := func(s check.State, msg string) {
		r.State = max(r.State, s)
		problems = append(problems, msg)
	}
	for i, he := range m.hosts {
		running := "none"
		if he.snap != nil {
			running = he.snap.Version()
			age := now.Sub(he.snap.Meta.CheckedAt)
			oldest = max(oldest, age)
			if m.staleLocked(he, now) {
				raise(check.Critical, fmt.Sprintf("%s: auto-config mode: externals %s not confirmed by the server for %s (max_stale %s); running local checks only",
					he.host, running, formatPeriod(age), formatPeriod(m.cfg.Externals.MaxStale.Duration)))
			} else {
				total += len(he.snap.File.Checks)
			}
		}
		line := fmt.Sprintf("%s: externals %s", he.host, running)
		if he.snap != nil {
			line += fmt.Sprintf(", %d checks, confirmed %s", len(he.snap.File.Checks), he.snap.Meta.CheckedAt.UTC().Format(time.RFC3339))
		}
		if !he.updated.IsZero() && he.previous != "" {
			line += fmt.Sprintf(", updated from %s at %s", he.previous, he.updated.UTC().Format(time.RFC3339))
		}
		if he.clockKnown {
			line += ", the server's clock " + formatOffset(he.clock)
			if skew := m.cfg.Health.ClockSkewWarning.Duration; skew > 0 && he.clock.Abs() > skew {
				raise(check.Warning, fmt.Sprintf("the externals server's clock is %s: Nagios files results at the wrong time; check NTP on both", formatOffset(he.clock)))
			}
		}
		lines = append(lines, line)
		if !he.fetched || he.failures == 0 {
			continue
		}
		why := ""
		if he.last.Err != nil {
			why = he.last.Err.Error()
		}
		keep := "keeping " + running
		if he.snap == nil {
			keep = "no externals yet"
		}
		switch he.last.Status {
		case externals.Rejected:
			raise(check.Critical, fmt.Sprintf("%s: externals rejected: %s; %s", he.host, why, keep))
		case externals.NotFound:
			switch {
			case i > 0:
				raise(check.Critical, fmt.Sprintf("%s: the server has no externals for this monitored host (404)", he.host))
			case m.client == nil:
				raise(check.Critical, fmt.Sprintf("%s: the server has no externals for this host (404) and [autoreg] has no url to register with; %s", he.host, keep))
			case m.reg.done && !m.reg.active:
				raise(check.Critical, fmt.Sprintf("%s: registered, but the server still has no externals for this host (404); %s", he.host, keep))
			}
		case externals.Denied:
			raise(check.Critical, fmt.Sprintf("%s: the server refuses this agent the externals: %s; %s", he.host, why, keep))
		case externals.Unreachable:
			if he.failures >= 2 {
				raise(check.Warning, fmt.Sprintf("%s: externals server unreachable since %s (%s); %s", he.host,
					he.since.UTC().Format(time.RFC3339), why, keep))
			}
		}
	}
	for _, w := range m.trustWarnings() {
		raise(check.Warning, w)
	}
	if m.signer != nil && m.reg.bindTried && !m.reg.active && m.reg.err != "" && m.reg.key != signing.Fingerprint(m.signer.PublicKey()) && m.reg.done {
		// Still running under its old registration, but anyone may
		// claim the host's name until this key is bound.
		raise(check.Warning, fmt.Sprintf("this host is not bound to the agent's key %s: the registration to bind it failed (%s)",
			signing.Fingerprint(m.signer.PublicKey()), m.reg.err))
	}
	switch {
	case m.reg.active:
		raise(check.Warning, "registering at "+m.cfg.Autoreg.URL)
	case m.reg.err != "" && !m.reg.done:
		raise(check.Warning, "registration at "+m.cfg.Autoreg.URL+" failed ("+m.reg.err+"); trying again")
	}
	summary := fmt.Sprintf("%d externals checks", total)
	if len(m.hosts) > 1 {
		summary += fmt.Sprintf(" for %d hosts", len(m.hosts))
	}
	summary += "; " + m.identityLocked(true)
	lines = append(lines, "identity: "+m.identityLocked(false))
	if n := len(m.pins.current()); n > 0 {
		lines = append(lines, fmt.Sprintf("server certificate pinned (%d pins)", n))
	} else if m.pins.pending() {
		lines = append(lines, "pin_sha256 = enrollment: the server's certificate is pinned once a registration records it")
	}
	if len(problems) == 0 {
		r.Output = "EXTERNALS OK - " + lines[0] + "; " + summary
	} else {
		r.Output = "EXTERNALS " + r.State.String() + " - " + strings.Join(problems, "; ")
	}
	r.LongOutput = strings.Join(lines, "\n")
	r.ExitCode = int(r.State)
	r.Perfdata = []check.Perf{
		{Label: "checks", Value: float64(total)},
		{Label: "age", Value: oldest.Round(time.Second).Seconds(), UOM: "s",
			Crit: fmt.Sprint(m.cfg.Externals.MaxStale.Seconds())},
	}
	return r
}

// formatOffset says how far another clock is from ours, and which way.
func formatOffset(d time.Duration) string {
	switch {
	case d == 0:
		return "in step with this host's"
	case d > 0:
		return formatPeriod(d) + " ahead of this host's"
	}
	return formatPeriod(-d) + " behind this host's"
}

// identityLocked says what the server knows this agent as: the key its
// host is bound to and since when, or why it is not. The caller holds
// m.mu.
func (m *extManager) identityLocked(short bool) string {
	if m.signer == nil {
		return "no identity key (the agent makes one when it registers)"
	}
	fp := signing.Fingerprint(m.signer.PublicKey())
	switch {
	case m.reg.key == fp && short:
		// Enough to tell keys apart at a glance; the long output has it all.
		return fmt.Sprintf("bound to key %s...", fp[:min(len(fp), 19)])
	case m.reg.key == fp:
		return fmt.Sprintf("key %s bound to %s since %s", fp, m.cfg.Hostname, m.reg.since.UTC().Format(time.RFC3339))
	case m.reg.key != "":
		return fmt.Sprintf("key %s, but the server has %s bound to key %s", fp, m.cfg.Hostname, m.reg.key)
	}
	return fmt.Sprintf("key %s, not bound yet (the next registration binds it)", fp)
}

// trustWarnings are the agent's trust settings that need an
// administrator: verification off, and a server rotating its externals
// key to one this agent does not trust yet (it would refuse every file
// once the server switches). The caller holds m.mu.
func (m *extManager) trustWarnings() []string {
	var out []string
	if m.cfg.Externals.InsecureSkipVerify {
		out = append(out, "TLS certificate verification is off (insecure_skip_verify): anyone on the path can pose as the server"+
			pinNote(m.pins))
	}
	trusted := map[string]bool{}
	for _, k := range m.keys {
		trusted[signing.Fingerprint(k)] = true
	}
	warned := map[string]bool{}
	for _, he := range m.hosts {
		if he.snap == nil || he.snap.Meta.Next == "" || trusted[he.snap.Meta.Next] || warned[he.snap.Meta.Next] {
			continue
		}
		warned[he.snap.Meta.Next] = true
		out = append(out, fmt.Sprintf("the server is retiring externals key %s for %s, which this agent does not trust yet: add it to [externals] public_keys",
			he.snap.Meta.Key, he.snap.Meta.Next))
	}
	return out
}

func pinNote(p *pinSet) string {
	if len(p.current()) > 0 {
		return " (the certificate pins still apply)"
	}
	return ""
}
