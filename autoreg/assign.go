package autoreg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors of Register and Render that are the request's fault rather than
// the server's; the handler answers them with 400 and 403.
var (
	ErrBadRequest = errors.New("bad registration request")
	ErrNoProfile  = errors.New("no profile matches")
)

// Assigner is the registration logic without HTTP: name the host, pick its
// profile, render and write its externals file unless an administrator
// took it over, and record it all in the registry. `picket server render`
// uses it directly.
type Assigner struct {
	Profiles     *Profiles
	Registry     *Registry
	ExternalsDir string
	// FQDN names hosts by their FQDN instead of their short name. Names
	// are always lower-cased: Nagios host names are case-sensitive, and
	// one machine must not become two hosts.
	FQDN bool
	// Validate checks a rendered file as the agent will parse it. A
	// template that renders an invalid file fails the registration and
	// writes nothing. Nil: no check.
	Validate func(host string, data []byte) error
	// Write stores data as <ExternalsDir>/<host>.toml, byte for byte
	// (whatever else it does, such as signing): the Assigner reads that
	// file back to tell its own output from an administrator's edit.
	// Nil: an atomic write, mode 0644.
	Write func(host string, data []byte) error
	// Bound, when set, tells which host names are bound to an agent's
	// key: such a host is never another agent's monitored host.
	Bound  func(host string) bool
	Now    func() time.Time
	Logger *slog.Logger

	// mu makes each registration's read-compare-write of a host's file
	// and record one step. Registrations are rare, so one lock for all
	// hosts is simpler than a lock per host and costs nothing.
	mu sync.Mutex
	// pmu guards Profiles for readers outside a registration.
	pmu sync.Mutex
}

// SetProfiles replaces the profiles (after profiles.toml was edited and
// loaded again) without racing registrations in flight: each one uses
// either the old set or the new one throughout. Assign Profiles directly
// only before the Assigner is in use.
func (a *Assigner) SetProfiles(p *Profiles) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pmu.Lock()
	defer a.pmu.Unlock()
	a.Profiles = p
}

// CurrentProfiles returns the profiles in use, safely against SetProfiles
// and without waiting for a registration in flight.
func (a *Assigner) CurrentProfiles() *Profiles {
	a.pmu.Lock()
	defer a.pmu.Unlock()
	return a.Profiles
}

// Register handles one agent's registration without a Guard: every
// request is admitted (picket server always registers through RegisterAs
// with its Guard).
func (a *Assigner) Register(ctx context.Context, req Request, remote string) (Response, error) {
	return a.RegisterAs(ctx, req, remote, nil)
}

// RegisterAs handles one agent's registration; remote is its IP, for the
// record; admit, when set, decides whether it may go ahead. Registering
// again with the same facts gives the same host and profile, and leaves
// the file alone ("unchanged").
//
// The request is validated first (ErrBadRequest, listing every problem),
// then admitted (admit's error), then its services for other hosts are
// checked against the profile's monitored_hosts and the hosts bound to
// other agents (ErrForbidden): a refusal at any of these steps writes
// nothing at all. Then the host's externals file is written when it does
// not exist ("created"), or when it still holds exactly what the server
// last wrote and the profile now renders something else ("updated"). A
// file that differs from what the server last wrote (or that the server
// never wrote) was edited by an administrator and is never overwritten
// ("kept"); Render with force does that. Once admitted, the registry
// records the facts, also when the registration fails later.
func (a *Assigner) RegisterAs(ctx context.Context, req Request, remote string, admit Admit) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	host, err := a.hostName(req)
	if err != nil {
		return Response{}, err
	}
	if err := checkRequest(req, host); err != nil {
		return Response{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	e, known := a.Registry.Get(host)
	adm := &Admission{}
	if admit != nil {
		if adm, err = admit(ctx, host, known); err != nil {
			return Response{}, err
		}
	}
	if !known {
		e = Entry{Host: host, FirstSeen: now}
	} else if len(e.Facts.MACs) > 0 && len(req.MACs) > 0 && !slices.ContainsFunc(req.MACs, func(m string) bool { return slices.Contains(e.Facts.MACs, m) }) {
		// Two machines with one name would share one Nagios host and
		// overwrite each other's facts: worth an administrator's look.
		a.logger().Warn("host registers with none of its previous MAC addresses: another machine with the same name?",
			"host", host, "remote", remote, "previous_remote", e.Remote, "macs", req.MACs, "previous_macs", e.Facts.MACs)
	}
	// The key lives in the binding; the facts are what the profiles see.
	req.PublicKey = ""
	e.Facts, e.LastSeen, e.Registered, e.Remote = req, now, now, remote
	if adm.Enrolled {
		e.TokenProfile = adm.Profile
	}
	resp, err := a.assign(ctx, e, false, a.checkMonitored)
	if err != nil {
		return Response{}, err
	}
	if adm.Commit != nil {
		if err := adm.Commit(ctx); err != nil {
			a.logger().Error("registration failed", "host", host, "reason", err.Error(), "remote", remote)
			return Response{}, fmt.Errorf("record the registration of %s: %w", host, err)
		}
	}
	if b := adm.Binding; b != nil {
		resp.Key, resp.BoundSince = b.Fingerprint, b.Since
	}
	return resp, nil
}

// checkMonitored refuses services e's agent declares for other hosts
// unless its profile's monitored_hosts allows each, and never for a host
// bound to another agent's key: an agent speaks for its own host, and for
// others only where an administrator said so.
func (a *Assigner) checkMonitored(profile string, e Entry) error {
	var bad []string
	for i, s := range e.Facts.Services {
		if s.Host == "" || s.Host == e.Host || slices.Contains(bad, s.Host) {
			continue
		}
		switch {
		case a.Bound != nil && a.Bound(s.Host):
			return fmt.Errorf("%w: services[%d] is for host %s, which is bound to another agent's key", ErrForbidden, i, s.Host)
		case !a.Profiles.MayReportFor(profile, s.Host):
			bad = append(bad, s.Host)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	allowed := "none: its [profile." + profile + "] has no monitored_hosts"
	if p := a.Profiles.MonitoredHosts(profile); p != "" {
		allowed = fmt.Sprintf("monitored_hosts %q", p)
	}
	return fmt.Errorf("%w: services for host %s refused: profile %s allows this agent to report for other hosts by %s",
		ErrForbidden, strings.Join(bad, ", "), profile, allowed)
}

// Render renders a registered host's file again from its recorded facts,
// after a change of profiles; the profile is picked again too. The file
// rules are Register's, except that force overwrites a file an
// administrator edited.
func (a *Assigner) Render(ctx context.Context, host string, force bool) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.Registry.Get(host)
	if !ok {
		return Response{}, fmt.Errorf("render %q: %w", host, ErrUnknownHost)
	}
	return a.assign(ctx, e, force, nil)
}

// profileOf is e's profile: the one its enrollment token named, or the
// first matching rule's, or the default.
func (a *Assigner) profileOf(e Entry) (string, bool) {
	if e.TokenProfile != "" {
		return e.TokenProfile, a.Profiles.Has(e.TokenProfile)
	}
	return a.Profiles.Match(e.Host, e.Facts)
}

// assign picks e's profile, has check refuse it (nothing written then),
// applies the file rules and records e. The caller holds a.mu.
func (a *Assigner) assign(ctx context.Context, e Entry, force bool, check func(profile string, e Entry) error) (Response, error) {
	log := a.logger().With("host", e.Host)
	profile, ok := a.profileOf(e)
	if !ok {
		err := fmt.Errorf("%w host %s (os %q, metadata %q) and profiles.toml has no default", ErrNoProfile, e.Host, e.Facts.OS, e.Facts.Metadata)
		if e.TokenProfile != "" {
			err = fmt.Errorf("%w host %s: its enrollment token names profile %q, which profiles.toml does not have", ErrNoProfile, e.Host, e.TokenProfile)
		}
		log.Warn("registration refused", "reason", err.Error(), "remote", e.Remote)
		return Response{}, a.record(e, err)
	}
	if check != nil {
		if err := check(profile, e); err != nil {
			return Response{}, err
		}
	}
	e.Profile = profile
	log = log.With("profile", profile)
	status, err := a.applyFile(ctx, &e, force)
	if err != nil {
		log.Error("registration failed", "reason", err.Error(), "remote", e.Remote)
		return Response{}, a.record(e, err)
	}
	if err := a.record(e, nil); err != nil {
		log.Error("registration failed", "reason", err.Error())
		return Response{}, err
	}
	resp := Response{Host: e.Host, Profile: profile, Status: status}
	if status == StatusKept {
		resp.Message = "the externals file was edited on the server and is left as it is"
		log.Info("externals file edited by an administrator: left alone; render with force to replace it",
			"file", a.path(e.Host))
	} else {
		log.Info("host registered", "status", status, "remote", e.Remote)
	}
	return resp, nil
}

// applyFile renders e's profile and writes the host's file when the rules
// allow it, returning the Response status.
func (a *Assigner) applyFile(ctx context.Context, e *Entry, force bool) (string, error) {
	// Rendering and validating come first even when the file will be
	// kept: a broken profile should fail loudly, not only on new hosts.
	data, err := a.Profiles.Render(e.Profile, e.Host, e.Facts)
	if err != nil {
		return "", err
	}
	if a.Validate != nil {
		if err := a.Validate(e.Host, data); err != nil {
			return "", fmt.Errorf("profile %q renders an invalid externals file for %s: %w", e.Profile, e.Host, err)
		}
	}
	sum := digest(data)
	path := a.path(e.Host)
	cur, err := os.ReadFile(path)
	status := StatusCreated
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", fmt.Errorf("read current externals: %w", err)
	case digest(cur) == sum:
		// Also when the registry lost track of the file: content
		// identical to the profile's output is the server's again.
		e.RenderedSHA256 = sum
		return StatusUnchanged, nil
	case force || (e.RenderedSHA256 != "" && digest(cur) == e.RenderedSHA256):
		status = StatusUpdated
	default:
		return StatusKept, nil
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := a.write(e.Host, data); err != nil {
		return "", fmt.Errorf("write externals for %s: %w", e.Host, err)
	}
	e.RenderedSHA256 = sum
	return status, nil
}

// record stores e with failure's text (nil clears the last error) and
// returns failure, or the registry's error when recording fails.
func (a *Assigner) record(e Entry, failure error) error {
	e.LastError = ""
	if failure != nil {
		e.LastError = failure.Error()
	}
	if err := a.Registry.Put(e); err != nil {
		if failure != nil {
			a.logger().Error("registry not updated", "host", e.Host, "reason", err.Error())
			return failure
		}
		return fmt.Errorf("record %s: %w", e.Host, err)
	}
	return failure
}

func (a *Assigner) write(host string, data []byte) error {
	if a.Write != nil {
		return a.Write(host, data)
	}
	return saveFile(a.path(host), data)
}

func (a *Assigner) path(host string) string { return filepath.Join(a.ExternalsDir, host+".toml") }

func (a *Assigner) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Assigner) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// hostName is the name the host gets: its short name (an IP address stays
// whole), or its FQDN when a.FQDN, lower-cased. The name becomes a file
// name, so it is checked before and after shortening: "../x" must be
// refused, not cut to "".
func (a *Assigner) hostName(req Request) (string, error) {
	field, name := "hostname", req.Hostname
	if a.FQDN && (req.FQDN != "" || !strings.Contains(req.Hostname, ".")) {
		field, name = "fqdn", req.FQDN
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", fmt.Errorf("%w: %s is empty", ErrBadRequest, field)
	}
	if !ValidHost(name) {
		return "", fmt.Errorf("%w: %s %q is not a valid host name (letters, digits, '.', '_' and '-', at most 63 bytes)",
			ErrBadRequest, field, truncate(name, 80))
	}
	if !a.FQDN && net.ParseIP(name) == nil {
		name, _, _ = strings.Cut(name, ".")
	}
	return strings.ToLower(name), nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
