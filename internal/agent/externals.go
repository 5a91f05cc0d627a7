package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
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

	notify chan struct{}

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
}

type regState struct {
	active   bool
	attempts int
	done     bool
	assigned string
	err      string
}

// newExtManager builds the manager a config describes; nil when the config
// has no externals URL.
func newExtManager(cfg *config.Config, version string, logger *slog.Logger) (*extManager, error) {
	if cfg.Externals.URL == "" {
		return nil, nil
	}
	tlsConf, err := clientTLS(cfg.Externals)
	if err != nil {
		return nil, err
	}
	var pubs []ed25519.PublicKey
	if cfg.Externals.PublicKey != "" {
		pub, err := signing.ParsePublicKey(cfg.Externals.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("externals.public_key: %w", err)
		}
		pubs = append(pubs, pub)
	}
	puller, err := externals.NewPuller(externals.Options{
		URL:        cfg.Externals.URL,
		TLS:        tlsConf,
		PublicKeys: pubs,
		CacheDir:   filepath.Join(cfg.StateDir, "externals"),
		Timeout:    cfg.Externals.Timeout.Duration,
		MaxSize:    int64(cfg.Externals.MaxSize),
		Logger:     logger,
		UserAgent:  "picket/" + version,
	})
	if err != nil {
		return nil, err
	}
	m := &extManager{
		cfg:     cfg,
		puller:  puller,
		regPath: filepath.Join(cfg.StateDir, registrationFile),
		logger:  logger,
		now:     time.Now,
		notify:  make(chan struct{}, 1),
	}
	if cfg.Autoreg.URL != "" {
		m.client = &autoreg.Client{
			URL:        cfg.Autoreg.URL,
			TokenFile:  cfg.Autoreg.TokenFile,
			HTTP:       httpClient(tlsConf),
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
	if a, err := autoreg.LoadAssignment(m.regPath); err == nil {
		m.reg.done, m.reg.assigned = true, a.Host
	}
	return m, nil
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
	m.reg.active, m.reg.err = true, ""
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

// clientTLS is the TLS of every request to the central server: the system's
// roots plus ca_file, an optional client certificate, TLS 1.2 at least.
func clientTLS(e config.Externals) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("externals.ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("externals.ca_file: %s holds no PEM certificate", e.CAFile)
		}
		tc.RootCAs = pool
	}
	if e.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("externals.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func httpClient(tc *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr}
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
