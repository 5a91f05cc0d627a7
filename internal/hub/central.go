package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/externals"
	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/internal/signing"
)

// Files in the server's state_dir: the registry of agents, which key
// each host name is bound to, and how often each token was used.
const (
	registryFile   = "registry.json"
	identitiesFile = "identities.json"
	tokenUsesFile  = "token-uses.json"
)

// syncDelay gathers the registrations of a fleet starting at once into one
// Nagios validation and reload.
const syncDelay = 2 * time.Second

// central is the HTTP side of picket server and what it keeps up to date:
// the externals folder (served and signed), registration, the registry of
// agents, and Nagios' objects for them.
type central struct {
	cfg      *Config
	logger   *slog.Logger
	keys     *externals.Keys // nil without a signing key
	registry *autoreg.Registry
	ids      *autoreg.Identities
	replay   *signing.ReplayCache
	assigner *autoreg.Assigner // nil without [registration]
	guard    *autoreg.Guard
	objects  *nagios.Objects // nil without [nagios]
	icinga   *icingaObjects  // nil without [icinga2]
	builder  *objectBuilder
	refusals *refusalLog
	kick     chan struct{}
	// lastSync is when the objects were last updated; owned by maintain.
	lastSync time.Time
	// blamed are the hosts whose LastError a failed objects update set;
	// the next good one clears them. Owned by syncObjects.
	blamed map[string]bool
	// status records the objects updates for picket server status.
	status *board

	mu sync.Mutex
	// waiting are requests held until Nagios knows the objects of the
	// externals they are about to serve.
	waiting []chan struct{}
	// synced is the SHA-256 of each host's externals as of the last
	// objects update Nagios accepted.
	synced map[string]string
}

func newCentral(ctx context.Context, cfg *Config, logger *slog.Logger) (*central, error) {
	c := &central{cfg: cfg, logger: logger, kick: make(chan struct{}, 1), replay: &signing.ReplayCache{},
		refusals: newRefusalLog(logger, refusalInterval)}
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	reg, err := autoreg.OpenRegistry(filepath.Join(cfg.StateDir, registryFile))
	if err != nil {
		return nil, err
	}
	c.registry = reg
	if c.ids, err = openIdentities(ctx, cfg, reg); err != nil {
		return nil, err
	}
	if e := cfg.Externals; e != nil {
		if err := os.MkdirAll(e.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("externals.dir: %w", err)
		}
		if c.keys, err = readKeys(e); err != nil {
			return nil, err
		}
	}
	if r := cfg.Registration; r != nil {
		tokens, err := autoreg.LoadTokens(r.TokensFile, filepath.Join(cfg.StateDir, tokenUsesFile))
		if err != nil {
			return nil, fmt.Errorf("registration.tokens_file: %w", err)
		}
		profiles, err := autoreg.LoadProfiles(r.Profiles)
		if err != nil {
			return nil, err
		}
		c.assigner = newAssigner(cfg, profiles, reg, c.keys, logger)
		c.assigner.Bound = c.bound
		c.guard = &autoreg.Guard{Tokens: tokens, Identities: c.ids, Replay: c.replay,
			MaxNewHostsPerHour: r.MaxNewHostsPerHour, Logger: logger}
	}
	if n := cfg.Nagios; n != nil {
		c.objects = &nagios.Objects{
			Dir:         n.ObjectsDir,
			Validate:    n.Validate,
			Reload:      n.Reload,
			CommandFile: n.CommandFile,
			Options: nagios.ObjectOptions{
				HostTemplate:    n.HostTemplate,
				ServiceTemplate: n.ServiceTemplate,
				CheckDummy:      n.CheckDummy,
				StaleState:      int(n.Stale),
			},
			Logger: logger,
		}
		c.builder = &objectBuilder{dir: cfg.Externals.Dir, registry: reg, nagios: n, logger: logger}
	}
	if ic := cfg.Icinga2; ic != nil {
		if c.icinga, err = newIcingaObjects(ic, logger); err != nil {
			return nil, err
		}
		if c.builder == nil {
			// The thresholds come from [icinga2] when there is no [nagios].
			n := &NagiosConfig{FreshnessSlack: ic.FreshnessSlack, HealthInterval: ic.HealthInterval}
			c.builder = &objectBuilder{dir: cfg.Externals.Dir, registry: reg, nagios: n, logger: logger}
		}
	}
	return c, nil
}

// readKeys reads the externals signing keys; nil without any.
func readKeys(e *ExternalsConfig) (*externals.Keys, error) {
	if e.SigningKey == "" {
		return nil, nil
	}
	cur, err := signing.ReadSigningKey(e.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("externals.signing_key: %w", err)
	}
	keys := &externals.Keys{Current: cur}
	if e.NextSigningKey != "" {
		if keys.Next, err = signing.ReadSigningKey(e.NextSigningKey); err != nil {
			return nil, fmt.Errorf("externals.next_signing_key: %w", err)
		}
		if keys.Next.Equal(cur) {
			return nil, errors.New("externals.next_signing_key is the signing_key itself")
		}
	}
	return keys, nil
}

// newAssigner is the registration logic: it renders profiles into the
// externals folder, signing what it writes.
func newAssigner(cfg *Config, profiles *autoreg.Profiles, reg *autoreg.Registry, keys *externals.Keys, logger *slog.Logger) *autoreg.Assigner {
	dir := cfg.Externals.Dir
	return &autoreg.Assigner{
		Profiles:     profiles,
		Registry:     reg,
		ExternalsDir: dir,
		FQDN:         cfg.Registration.FQDN,
		Validate: func(host string, data []byte) error {
			_, err := externals.Parse(host+".toml", data, host)
			return err
		},
		Write: func(host string, data []byte) error {
			return externals.WriteFile(dir, host, data, keys)
		},
		Now:    time.Now,
		Logger: logger,
	}
}

// listen opens the HTTP(S) socket and returns what serves it.
func (c *central) listen(ctx context.Context) (func(context.Context) error, net.Addr, error) {
	h := c.cfg.HTTP
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", h.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("http: listen on %s: %w", h.Listen, err)
	}
	srv := &http.Server{
		Handler:           c.mux(ctx),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(c.logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if h.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(h.TLSCert, h.TLSKey)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("http: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	run := func(ctx context.Context) error {
		scheme := "http"
		if h.TLSCert != "" {
			scheme = "https"
		} else {
			c.logger.Warn("picket server: HTTP without TLS; use it on loopback or a trusted network only (tls_cert, tls_key)")
		}
		c.logger.Info("picket server: HTTP listening", "addr", ln.Addr().String(), "scheme", scheme,
			"externals", c.cfg.Externals != nil, "registration", c.assigner != nil, "signing", c.keys != nil,
			"rotating", c.keys != nil && c.keys.Next != nil)
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return fmt.Errorf("http: %w", err)
		case <-ctx.Done():
		}
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(shutCtx)
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}
	return run, ln.Addr(), nil
}

func (c *central) mux(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	if e := c.cfg.Externals; e != nil {
		h := &externals.Handler{
			Dir:    e.Dir,
			Keys:   c.keys,
			Logger: c.logger,
			Served: func(host, remote string) {
				// The registry keeps the IP, as a registration does.
				if ip, _, err := net.SplitHostPort(remote); err == nil {
					remote = ip
				}
				c.registry.Seen(host, remote, time.Now())
			},
		}
		mux.Handle("/externals/", http.StripPrefix("/externals/", c.authorize(c.gate(h))))
	}
	if c.assigner != nil {
		r := c.cfg.Registration
		mux.Handle("/v1/register", autoreg.NewHandler(autoreg.HandlerOptions{
			Assigner:    c.assigner,
			Guard:       c.guard,
			MaxBody:     256 << 10, // the facts of an agent with 2,000 plugins
			Rate:        rate.Limit(r.Rate),
			Burst:       r.Burst,
			GlobalRate:  rate.Limit(r.GlobalRate),
			GlobalBurst: r.GlobalBurst,
			Logger:      c.logger,
			Refused:     c.refusals.note,
			// The answer waits for Nagios to know the host (the agent's
			// own services come with the registration), as a download
			// of changed externals does.
			Registered: func(autoreg.Entry) { c.awaitSync(ctx) },
		}))
	}
	return mux
}

// gate holds the download of an externals file that changed since Nagios'
// objects were last made, until they are made again: an agent must not
// run a check whose results Nagios would drop as unknown. It waits at most
// a minute; a failed update is logged and the file served anyway.
func (c *central) gate(next http.Handler) http.Handler {
	if !c.managesObjects() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, ok := strings.CutSuffix(r.URL.Path, ".toml")
		if ok && externals.ValidHost(host) {
			data, err := os.ReadFile(filepath.Join(c.cfg.Externals.Dir, host+".toml"))
			if err == nil && c.syncedSHA(host) != sha256Hex(data) {
				c.awaitSync(r.Context())
			}
		}
		next.ServeHTTP(w, r)
	})
}

// awaitSync requests an objects update and waits for it, a minute at most.
func (c *central) awaitSync(ctx context.Context) {
	if !c.managesObjects() {
		return
	}
	done := c.requestSync()
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
}

func (c *central) syncedSHA(host string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.synced[host]
}

// requestSync asks for an objects update and returns a channel closed once
// an update that started after the request has finished.
func (c *central) requestSync() <-chan struct{} {
	done := make(chan struct{})
	c.mu.Lock()
	c.waiting = append(c.waiting, done)
	c.mu.Unlock()
	c.poke()
	return done
}

// managesObjects says whether the server defines registered hosts in
// Nagios ([nagios]) or Icinga 2 ([icinga2]).
func (c *central) managesObjects() bool { return c.objects != nil || c.icinga != nil }

// poke asks for a Nagios objects update soon.
func (c *central) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// maintain keeps Nagios' objects in step with the externals folder and the
// registry, and the registry on disk, until ctx ends.
func (c *central) maintain(ctx context.Context) error {
	flush := time.NewTicker(30 * time.Second)
	defer flush.Stop()
	refused := time.NewTicker(refusalInterval)
	defer refused.Stop()
	defer c.refusals.flush()
	var scan <-chan time.Time
	if c.managesObjects() {
		every := DefaultScanInterval
		if c.cfg.Nagios != nil {
			every = c.cfg.Nagios.ScanInterval.Duration
		}
		t := time.NewTicker(every)
		defer t.Stop()
		scan = t.C
		c.syncObjects(ctx) // what changed while the server was down
	}
	for {
		select {
		case <-ctx.Done():
			return c.registry.Flush()
		case <-flush.C:
			if err := c.registry.Flush(); err != nil {
				c.logger.Error("cannot write the registry", "err", err)
			}
		case <-refused.C:
			c.refusals.flush()
		case <-c.kick:
			if !c.managesObjects() {
				continue
			}
			// A burst of registrations is one update; a storm of them
			// is one update per min_reload_interval at most.
			wait := syncDelay
			if c.cfg.Nagios != nil { // Icinga 2 alone has no reload to space out
				wait = max(wait, time.Until(c.lastSync.Add(c.cfg.Nagios.MinReloadInterval.Duration)))
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return c.registry.Flush()
			case <-t.C:
			}
			c.syncObjects(ctx)
		case <-scan:
			c.syncObjects(ctx)
		}
	}
}

// syncObjects writes the Nagios objects the externals and the registry call
// for, validated and reloaded. A failure keeps Nagios' previous objects and
// is logged and recorded against the hosts it concerns.
func (c *central) syncObjects(ctx context.Context) {
	c.lastSync = time.Now()
	c.mu.Lock()
	waiting := c.waiting
	c.waiting = nil
	c.mu.Unlock()
	defer func() {
		for _, w := range waiting {
			close(w)
		}
	}()
	hosts, shas, err := c.builder.build(time.Now())
	if errors.Is(err, errInvalidExternals) {
		c.status.externalsInvalid(err) // logged by build, once for each version of the file
		return
	}
	if err != nil {
		c.logger.Error("Nagios objects not updated", "err", err)
		c.status.externalsInvalid(err)
		return
	}
	if c.icinga != nil {
		if err := c.status.icingaSynced(c.icinga.sync(ctx, hosts)); err != nil {
			c.logger.Error("Icinga 2 objects not all created; trying again at the next change or scan", "err", err)
		}
		if c.objects == nil {
			c.mu.Lock()
			c.synced = shas
			c.mu.Unlock()
			return
		}
	}
	res, err := c.status.nagiosSynced(c.objects.Sync(ctx, hosts))
	if err != nil {
		c.logger.Error("Nagios objects not updated; Nagios keeps the previous ones", "err", err)
		if ctx.Err() == nil {
			for _, h := range c.failedHosts(hosts, res) {
				if c.registry.SetError(h, err.Error()) == nil {
					if c.blamed == nil {
						c.blamed = map[string]bool{}
					}
					c.blamed[h] = true
				}
			}
		}
		return
	}
	c.mu.Lock()
	c.synced = shas
	c.mu.Unlock()
	if len(res.Written)+len(res.Removed) > 0 {
		c.logger.Info("Nagios objects updated", "written", res.Written, "removed", res.Removed, "reloaded", res.Reloaded)
	}
	// Nagios now has every host's objects, also those of hosts a failed
	// reload blamed, which a retried reload does not count as written.
	fixed := slices.Concat(res.Written, slices.Collect(maps.Keys(c.blamed)))
	c.blamed = nil
	for _, h := range fixed {
		if _, ok := c.registry.Get(h); ok {
			_ = c.registry.SetError(h, "")
		}
	}
}

// failedHosts are the registered hosts a failed Sync concerns: those it
// wrote before the reload failed, and those whose object file does not
// hold their objects, since a failed validation put the previous files
// back (and reports nothing as written).
func (c *central) failedHosts(hosts []nagios.HostObject, res nagios.SyncResult) []string {
	out := slices.Clone(res.Written)
	for _, h := range hosts {
		if _, ok := c.registry.Get(h.Name); !ok || slices.Contains(out, h.Name) || slices.Contains(res.Foreign, h.Name) {
			continue
		}
		if want, err := nagios.RenderHost(h, c.objects.Options); err == nil {
			// A registered name is a valid host name, which Sync writes
			// as <host>.cfg unescaped (but "picket-commands", blamed at
			// worst).
			have, err := os.ReadFile(filepath.Join(c.objects.Dir, h.Name+".cfg"))
			if err == nil && bytes.Equal(have, want) {
				continue
			}
		}
		out = append(out, h.Name)
	}
	return out
}

// isNotExist is errors.Is(err, fs.ErrNotExist), named for reading.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Render renders the externals of registered hosts again from their
// profiles, after a profile changed: every registered host when hosts is
// empty. A file an administrator edited is kept unless force.
func Render(ctx context.Context, cfg *Config, hosts []string, force bool, logger *slog.Logger) ([]autoreg.Response, error) {
	if cfg.Registration == nil || cfg.Externals == nil {
		return nil, fmt.Errorf("%s: rendering needs [registration] and [externals]", cfg.File)
	}
	reg, err := autoreg.OpenRegistry(filepath.Join(cfg.StateDir, registryFile))
	if err != nil {
		return nil, err
	}
	profiles, err := autoreg.LoadProfiles(cfg.Registration.Profiles)
	if err != nil {
		return nil, err
	}
	keys, err := readKeys(cfg.Externals)
	if err != nil {
		return nil, err
	}
	a := newAssigner(cfg, profiles, reg, keys, logger)
	if len(hosts) == 0 {
		for _, e := range reg.List() {
			hosts = append(hosts, e.Host)
		}
	}
	var out []autoreg.Response
	var errs []error
	for _, h := range hosts {
		r, err := a.Render(ctx, h, force)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", h, err))
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
