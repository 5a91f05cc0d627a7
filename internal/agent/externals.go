package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/signing"
)

// registrationFile is the registration's answer, in state_dir.
const registrationFile = "registration.json"

// extManager keeps the externals of the agent's host (and of its
// monitored hosts) current: it pulls them on schedule, registers the agent
// when the server does not know it, and says how it goes. It runs in its
// own goroutine; the agent loop learns of a change through changed() and
// reads checks() and report().
//
// A reload of the agent's config replaces the manager: the new one starts
// from the last-known-good files on disk, so nothing is lost.
type extManager struct {
	cfg     *config.Config
	puller  *externals.Puller
	client  *autoreg.Client // nil without [autoreg]
	facts   func(ctx context.Context) autoreg.Request
	regPath string
	logger  *slog.Logger
	now     func() time.Time
	// signer is the agent's identity; nil when it has no key (no
	// [autoreg], and none made before).
	signer *signing.Signer
	// keys are the externals keys the agent trusts.
	keys []ed25519.PublicKey
	pins *pinSet

	notify chan struct{}
	// regAsked is set, and kick woken, when a target says the server
	// does not know one of the agent's objects: register again at once.
	regAsked atomic.Bool
	kick     chan struct{}
	askedAt  atomic.Int64 // unix ns of the last ask, for the rate limit

	mu    sync.Mutex
	hosts []*hostExternals // the agent's own host first
	reg   regState
}

// hostExternals is what the manager knows of one host's externals.
type hostExternals struct {
	host     string
	snap     *externals.Snapshot // last-known-good; nil: none yet
	last     externals.Outcome   // of the latest fetch
	fetched  bool                // a fetch has happened since start
	failures int                 // consecutive failed fetches
	since    time.Time           // first of those failures
	updated  time.Time           // when snap last changed during this run
	previous string              // the version snap replaced
	stale    bool                // in auto-config mode as of the latest fetch
	// clock is the server's clock offset from the last answer that had
	// a Date header (clockKnown).
	clock      time.Duration
	clockKnown bool
}

type regState struct {
	active   bool
	attempts int
	done     bool
	assigned string
	err      string
	// key and since are the binding the last answer reported: the key's
	// fingerprint and when the server bound it; empty when the host is
	// not bound to the agent's key (yet).
	key   string
	since time.Time
	// bindTried: a registration to bind the key was made in this run,
	// whatever came of it, so a refused one is not retried every pull.
	bindTried bool
}

// newExtManager builds the manager a config describes; nil when the config
// has no externals URL.
func newExtManager(cfg *config.Config, version string, logger *slog.Logger) (*extManager, error) {
	if cfg.Externals.URL == "" {
		return nil, nil
	}
	m := &extManager{
		cfg:     cfg,
		regPath: filepath.Join(cfg.StateDir, registrationFile),
		logger:  logger,
		now:     time.Now,
		notify:  make(chan struct{}, 1),
		kick:    make(chan struct{}, 1),
	}
	a, aerr := autoreg.LoadAssignment(m.regPath)
	if aerr == nil {
		m.reg.done, m.reg.assigned, m.reg.key, m.reg.since = true, a.Host, a.Key, a.BoundSince
	}
	m.pins = newPinSet(cfg.Externals, a.ServerPins)
	tlsConf, err := clientTLS(cfg.Externals, m.pins)
	if err != nil {
		return nil, err
	}
	proxy, err := proxyFunc(cfg.Externals)
	if err != nil {
		return nil, err
	}
	if m.keys, err = trustedKeys(cfg.Externals); err != nil {
		return nil, err
	}
	if m.signer, err = loadIdentity(cfg, logger); err != nil {
		return nil, err
	}
	puller, err := externals.NewPuller(externals.Options{
		URL:        cfg.Externals.URL,
		TLS:        tlsConf,
		Proxy:      proxy,
		PublicKeys: m.keys,
		Signer:     m.signer,
		CacheDir:   filepath.Join(cfg.StateDir, "externals"),
		Timeout:    cfg.Externals.Timeout.Duration,
		MaxSize:    int64(cfg.Externals.MaxSize),
		Logger:     logger,
		UserAgent:  "picket/" + version,
	})
	if err != nil {
		return nil, err
	}
	m.puller = puller
	if cfg.Autoreg.URL != "" {
		m.client = &autoreg.Client{
			URL:        cfg.Autoreg.URL,
			TokenFile:  cfg.Autoreg.TokenFile,
			Signer:     m.signer,
			HTTP:       httpClient(tlsConf, proxy),
			MaxBackoff: cfg.Autoreg.MaxBackoff.Duration,
			Logger:     logger,
		}
		m.facts = func(ctx context.Context) autoreg.Request {
			return autoreg.Facts(ctx, autoreg.FactOptions{
				Hostname:     cfg.Hostname,
				Metadata:     cfg.Autoreg.Metadata,
				PluginDirs:   cfg.PluginDirs,
				AgentVersion: version,
				Services:     ownServices(cfg),

				HostResultEvery: hostResultEvery(cfg),
			})
		}
	}
	for _, h := range append([]string{cfg.Hostname}, cfg.Externals.MonitoredHosts...) {
		he := &hostExternals{host: h}
		snap, err := puller.LastKnownGood(h)
		switch {
		case err == nil:
			he.snap = snap
			logger.Info("last-known-good externals loaded", "host", h, "version", snap.Version(),
				"checks", len(snap.File.Checks), "fetched", snap.Meta.FetchedAt.Format(time.RFC3339))
		case !errors.Is(err, fs.ErrNotExist):
			logger.Error("last-known-good externals unusable; waiting for the server's", "host", h, "err", err)
		}
		m.hosts = append(m.hosts, he)
	}
	return m, nil
}

// loadIdentity reads the agent's key from state_dir, making it when the
// agent registers and has none yet: the key its host name gets bound to.
// Without [autoreg] an existing key is still used (the host may have
// been registered before the section went), and none is made.
func loadIdentity(cfg *config.Config, logger *slog.Logger) (*signing.Signer, error) {
	path := filepath.Join(cfg.StateDir, identityKeyFile)
	var key ed25519.PrivateKey
	var err error
	created := false
	if cfg.Autoreg.URL != "" {
		key, created, err = signing.LoadOrCreateKey(path)
	} else if key, err = signing.ReadSigningKey(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the agent's identity key: %w", err)
	}
	s := signing.NewSigner(cfg.Hostname, key)
	if created {
		logger.Info("identity key made: the server binds this host's name to it at its registration",
			"key", signing.Fingerprint(s.PublicKey()), "file", path)
	}
	return s, nil
}

// assigned returns the host name a registration gave this agent, if any
// is on disk, so the agent starts under the name Nagios knows.
func assigned(stateDir string) string {
	a, err := autoreg.LoadAssignment(filepath.Join(stateDir, registrationFile))
	if err != nil {
		return ""
	}
	return a.Host
}

func (m *extManager) changed() <-chan struct{} { return m.notify }

func (m *extManager) regErr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reg.err
}

// unknown reports whether the central side cannot know this host yet: it
// has never been registered nor given externals. A result sent now would
// only make Nagios log "could not be found".
func (m *extManager) unknown() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.reg.done && m.hosts[0].snap == nil
}

func (m *extManager) signal() {
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// run pulls until ctx ends. It returns the host name a registration
// assigned when it differs from the one the agent runs under: the agent
// then reloads under that name.
func (m *extManager) run(ctx context.Context) (rename string) {
	justRegistered := false
	for {
		needReg := m.fetchAll(ctx)
		needReg = m.regAsked.Swap(false) || needReg
		m.signal()
		if ctx.Err() != nil {
			return ""
		}
		// Right after a registration the server should know the host; if
		// it still says 404, asking again at once would only spin.
		if needReg && m.client != nil && !justRegistered {
			// A round of attempts is bounded, so a server that keeps
			// refusing does not stop the pulls (of the last-known-good's
			// confirmation, of monitored hosts) in between.
			iv := m.cfg.Externals.Interval.Duration
			regCtx, cancel := context.WithTimeout(ctx, 2*max(iv, m.cfg.Autoreg.MaxBackoff.Duration))
			host, ok := m.register(regCtx)
			cancel()
			if ctx.Err() != nil {
				return ""
			}
			if ok {
				if host != m.cfg.Hostname {
					return host
				}
				justRegistered = true
				continue // pull what the registration assigned, now
			}
			m.logger.Warn("not registered yet; pulling again before the next round of attempts", "err", m.regErr())
		}
		justRegistered = false
		// Jitter keeps a fleet restarted at once from pulling in step.
		iv := m.cfg.Externals.Interval.Duration
		wait := iv - iv/10 + rand.N(iv/5+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ""
		case <-t.C:
		case <-m.kick:
			t.Stop()
		}
	}
}

// fetchAll pulls every host's externals once and says whether the agent
// must register: its own host is unknown to the server, it has never been
// registered nor pulled anything, or its externals went stale.
func (m *extManager) fetchAll(ctx context.Context) (needReg bool) {
	for i, he := range m.hosts {
		out := m.puller.Fetch(ctx, he.host)
		if ctx.Err() != nil {
			return false
		}
		now := m.now()
		m.mu.Lock()
		he.last, he.fetched = out, true
		if out.ClockKnown {
			he.clock, he.clockKnown = out.ClockOffset, true
		}
		switch out.Status {
		case externals.Updated:
			if he.snap != nil {
				he.previous = he.snap.Version()
			}
			he.snap, he.updated, he.failures = out.Snapshot, now, 0
			m.logger.Info("externals updated", "host", he.host, "version", out.Snapshot.Version(),
				"checks", len(out.Snapshot.File.Checks), "was", he.previous)
		case externals.Unchanged:
			he.snap, he.failures = out.Snapshot, 0
		default:
			if he.failures == 0 {
				he.since = now
			}
			he.failures++
			lvl, msg := slog.LevelWarn, "externals not applied; keeping the last-known-good"
			switch {
			case out.Status == externals.Rejected:
				lvl = slog.LevelError
			case he.snap == nil && out.Status == externals.NotFound:
				lvl, msg = slog.LevelInfo, "the server has no externals for this host yet"
			case he.snap == nil:
				msg = "no externals yet"
			}
			m.logger.Log(ctx, lvl, msg, "host", he.host, "status", out.Status.String(), "err", out.Err)
		}
		// Staleness is compared with the previous fetch's: a failed
		// fetch leaves snap as it was, so it never turns stale within
		// one. A start with stale externals on disk enters the mode too.
		stale := m.staleLocked(he, now)
		if i == 0 {
			switch {
			case out.Status == externals.NotFound:
				needReg = true
			case he.snap == nil && !m.reg.done:
				needReg = true
			case out.Status == externals.Denied:
				// Not bound (any more) to this agent's key: registering
				// binds it, with a token, or says why not.
				needReg = true
			case m.needsBinding():
				m.logger.Info("this host is not bound to the agent's key yet: registering to bind it",
					"key", signing.Fingerprint(m.signer.PublicKey()))
				needReg = true
			case stale && !he.stale:
				m.logger.Error("externals stale: auto-config mode, running local checks only", "host", he.host,
					"max_stale", m.cfg.Externals.MaxStale.String())
				needReg = true
			}
		}
		he.stale = stale
		m.mu.Unlock()
	}
	return needReg
}

// register asks the server for an assignment, retrying until it answers or
// ctx ends; the agent keeps running (and spooling) meanwhile.
func (m *extManager) register(ctx context.Context) (string, bool) {
	m.mu.Lock()
	m.reg.active, m.reg.err, m.reg.bindTried = true, "", true
	m.mu.Unlock()
	m.signal()
	req := m.facts(ctx)
	m.logger.Info("registering", "url", m.cfg.Autoreg.URL, "host", req.Hostname, "plugins", len(req.Plugins))
	resp, err := m.client.Register(ctx, req)
	// Registrations are rare: a kept-alive connection would only hold a
	// socket and the transport's goroutines past the manager's end.
	m.client.HTTP.CloseIdleConnections()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reg.active = false
	if err != nil {
		m.reg.err = err.Error()
		return "", false
	}
	m.reg.done, m.reg.assigned, m.reg.attempts = true, resp.Host, m.reg.attempts+1
	m.reg.key, m.reg.since = resp.Key, resp.BoundSince
	m.pins.learn(resp.ServerPins)
	// On a first start nothing may have created state_dir yet (the
	// externals cache is made at the first successful pull).
	err = os.MkdirAll(filepath.Dir(m.regPath), 0o700)
	if err == nil {
		err = autoreg.SaveAssignment(m.regPath, resp)
	}
	if err != nil {
		m.logger.Error("cannot keep the registration's answer; it will be asked again at the next start", "err", err)
	}
	return resp.Host, true
}

// needsBinding reports whether the agent has a key the server has not
// bound its host to (an agent upgraded from before identities, or a host
// an administrator released) and has not tried to bind it in this run.
// The caller holds m.mu.
func (m *extManager) needsBinding() bool {
	return m.client != nil && m.signer != nil && !m.reg.bindTried &&
		m.reg.key != signing.Fingerprint(m.signer.PublicKey())
}

// staleLocked reports whether he's externals were last confirmed longer
// than max_stale ago: auto-config mode, where they no longer run.
func (m *extManager) staleLocked(he *hostExternals, now time.Time) bool {
	return he.snap != nil && now.Sub(he.snap.Meta.CheckedAt) > m.cfg.Externals.MaxStale.Duration
}

// checks returns the externals checks to run: every host's last-known-good
// unless it went stale.
func (m *extManager) checks() []check.Check {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var out []check.Check
	for _, he := range m.hosts {
		if he.snap == nil || m.staleLocked(he, now) {
			continue
		}
		out = append(out, he.snap.File.Checks...)
	}
	return out
}

// mergeChecks adds the externals' checks to the local ones. A local check
// wins over an externals check of the same host and service: the host's
// own file has the last word.
func mergeChecks(local, ext []check.Check, logger *slog.Logger) []check.Check {
	seen := make(map[check.Key]bool, len(local)+len(ext))
	out := make([]check.Check, 0, len(local)+len(ext))
	for _, c := range local {
		seen[c.Key()] = true
		out = append(out, c)
	}
	for _, c := range ext {
		if seen[c.Key()] {
			logger.Warn("externals check ignored: the agent's config defines the same host and service", "check", c.Key().String())
			continue
		}
		seen[c.Key()] = true
		out = append(out, c)
	}
	return out
}

// ownServices lists what the agent reports outside its externals, so the
// server can define it in Nagios: its local checks and its own health.
func ownServices(cfg *config.Config) []autoreg.Service {
	var out []autoreg.Service
	for _, c := range cfg.Checks {
		s := autoreg.Service{Service: c.Service, Cron: c.Cron, TimeoutSeconds: int64(c.Timeout.Seconds())}
		if c.Host != cfg.Hostname {
			s.Host = c.Host
		}
		if c.Cron == "" {
			s.IntervalSeconds = int64(c.Interval.Seconds())
		}
		out = append(out, s)
	}
	if cfg.Health.On() {
		iv := int64(cfg.Health.Interval.Seconds())
		for _, name := range []string{cfg.Health.PollerService, cfg.Health.SpoolerService, cfg.Health.ExternalsService} {
			out = append(out, autoreg.Service{Service: name, IntervalSeconds: iv})
		}
	}
	return out
}

// hostResultEvery is how often the agent reports its host: with each
// health report, if it reports it at all.
func hostResultEvery(cfg *config.Config) time.Duration {
	if !cfg.Health.HostResultOn() {
		return 0
	}
	return cfg.Health.Interval.Duration
}

// extRun is a running extManager: started at the agent's start and after
// every reload, stopped before the next one.
type extRun struct {
	m      *extManager
	cancel context.CancelFunc
	// renamed delivers the host name a registration assigned, when it
	// differs from the one the agent runs under.
	renamed chan string
	done    chan struct{}
}

// startExternals starts the manager cfg describes; a nil *extRun (no
// externals URL) is valid and does nothing.
func startExternals(cfg *config.Config, version string, logger *slog.Logger) (*extRun, error) {
	m, err := newExtManager(cfg, version, logger)
	if err != nil || m == nil {
		return nil, err
	}
	// It runs until stop, whoever started it.
	ctx, cancel := context.WithCancel(context.Background())
	r := &extRun{m: m, cancel: cancel, renamed: make(chan string, 1), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if host := m.run(ctx); host != "" {
			r.renamed <- host
		}
	}()
	return r, nil
}

func (r *extRun) stop() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}

// askRegistration makes the manager register again soon: at once, unless
// it was asked within the last externals interval (a target refusing a
// batch of results for unknown objects asks once per result).
func (r *extRun) askRegistration() {
	if r == nil || r.m.client == nil {
		return
	}
	now := time.Now().UnixNano()
	if last := r.m.askedAt.Load(); now-last < int64(r.m.cfg.Externals.Interval.Duration) || !r.m.askedAt.CompareAndSwap(last, now) {
		return
	}
	if !r.m.regAsked.Swap(true) {
		select {
		case r.m.kick <- struct{}{}:
		default:
		}
	}
}

func (r *extRun) changed() <-chan struct{} {
	if r == nil {
		return nil
	}
	return r.m.changed()
}

func (r *extRun) renamedTo() <-chan string {
	if r == nil {
		return nil
	}
	return r.renamed
}

func (r *extRun) checks() []check.Check {
	if r == nil {
		return nil
	}
	return r.m.checks()
}
