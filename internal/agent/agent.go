package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/plugins"
	"github.com/picket-monitoring/picket/poller"
)

// drainTimeout is how long a stopping agent keeps sending what it holds;
// what is left stays in the spool for the next start.
const drainTimeout = 5 * time.Second

// Options says where the agent's config is and how to reach it.
type Options struct {
	ConfigPath string
	Logger     *slog.Logger
	// Reload delivers a value each time the config should be read again
	// (SIGHUP). May be nil.
	Reload <-chan struct{}
	// StatsEvery overrides the config's [health] interval: how often the
	// poller's figures are logged and reported. 0 keeps the config's.
	StatsEvery time.Duration
	// Version is the agent's, sent when it registers.
	Version string
	// OnConfig, when set, sees each config the agent starts or reloads
	// with (the caller's log levels follow [log]).
	OnConfig func(*config.Config)
}

// Run loads the config and runs the agent until ctx is cancelled. It fails
// only at start (an unusable config); afterwards, a config that fails to
// reload is logged and the running one kept.
func Run(ctx context.Context, o Options) error {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := load(o.ConfigPath, "", logger)
	if err != nil {
		return err
	}
	if o.OnConfig != nil {
		o.OnConfig(cfg)
	}
	if len(cfg.Targets) == 0 {
		// An installer may start the service before anyone configured it:
		// run, keep what the checks report, and deliver it once a reload
		// brings a target.
		logger.Warn("no [[target]] in the config: results stay in the spool until one is configured", "config", cfg.File)
	}
	sp, err := OpenSpool(cfg, logger.With("component", "spool"), false)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.File, err)
	}
	defer func() {
		if err := sp.Close(); err != nil {
			logger.Error("closing the spool", "err", err)
		}
	}()
	send := &senders{spool: sp, logger: logger.With("component", "spooler")}
	if err := send.start(ctx, cfg); err != nil {
		return fmt.Errorf("%s: %w", cfg.File, err)
	}
	sink := newSpoolSink(sp, send.wake)
	runner := &swapRunner{}
	runner.set(NewRunner(cfg))
	p := poller.New(poller.Options{
		Runner:      runner,
		Sink:        sink,
		Concurrency: cfg.Concurrency,
		Logger:      logger.With("component", "poller"),
	})
	ext, err := startExternals(ctx, cfg, o.Version, logger.With("component", "externals"))
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.File, err)
	}
	defer func() { ext.stop() }()
	if err := p.Apply(mergeChecks(cfg.Checks, ext.checks(), logger)); err != nil {
		return fmt.Errorf("%s: %w", cfg.File, err)
	}

	// The spool and its senders start before the poller and stop after
	// it, so every result the poller produces, including those of plugins
	// killed on the way out, is stored and gets a chance to be sent.
	var wg sync.WaitGroup
	// Plugins killed on the way out say why in their results.
	pollCtx, stopPoll := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopPoll(nil)
	stopWatch := context.AfterFunc(ctx, func() {
		stopPoll(fmt.Errorf("agent stopping (%w)", context.Cause(ctx)))
	})
	defer stopWatch()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := p.Run(pollCtx); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("poller stopped", "err", err)
		}
	}()
	logger.Info("agent started", "config", cfg.File, "host", cfg.Hostname, "checks", len(cfg.Checks), "targets", len(cfg.Targets))

	every := cfg.Health.Interval.Duration
	if o.StatsEvery > 0 {
		every = o.StatsEvery
	}
	healthTick := time.NewTicker(every)
	defer healthTick.Stop()
	var prev poller.Stats
	last := time.Now()
	health := newSpoolerHealth(cfg)
	health.baseline(sp.Stats())
	var lastExt check.Result
	putOwn := func(r check.Result) {
		if err := sink.Put(ctx, r); err != nil {
			logger.Error("cannot store the agent's own result", "service", r.Service, "err", err)
		}
		if r.State != check.OK {
			send.wake()
		}
	}
	// reloadAs reads the config again, under the host name a registration
	// assigned if it did, and restarts the externals for it.
	reloadAs := func(host string) {
		next := reload(ctx, cfg, host, ext.checks(), runner, p, send, logger)
		if next == cfg {
			if host != "" {
				logger.Error("externals stopped: the config does not load under the assigned host name; fix it and send SIGHUP", "host", host)
			}
			return
		}
		ext.stop()
		cfg = next
		if o.OnConfig != nil {
			o.OnConfig(cfg)
		}
		if ext, err = startExternals(ctx, cfg, o.Version, logger.With("component", "externals")); err != nil {
			logger.Error("externals not started; running the local checks only", "err", err)
		}
		applyChecks(cfg, ext, p, logger)
		sink.forget(mergeChecks(cfg.Checks, ext.checks(), logger))
		health.configure(cfg)
	}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-o.Reload:
			reloadAs("")
		case host := <-ext.renamedTo():
			logger.Info("the server assigned this agent another host name; reloading under it", "from", cfg.Hostname, "to", host)
			reloadAs(host)
		case <-ext.changed():
			applyChecks(cfg, ext, p, logger)
			// A change of the externals' state is reported at once, so an
			// administrator sees a rejected file or the new version now.
			if r := ext.m.report(time.Now()); cfg.Health.On() && !ext.m.unknown() && (r.State != lastExt.State || r.Output != lastExt.Output) {
				putOwn(r)
				lastExt = r
			}
		case now := <-healthTick.C:
			cur := p.Stats()
			logStats(logger, cur)
			sst := send.stats()
			spst := sp.Stats()
			logSpoolStats(logger, spst, sst)
			if cfg.Health.On() {
				putOwn(pollerHealth(cfg.Hostname, cfg.Health.PollerService, prev, cur, now, now.Sub(last)))
				putOwn(health.report(now, spst, sst))
				if ext != nil {
					lastExt = ext.m.report(now)
					putOwn(lastExt)
				}
			}
			prev, last = cur, now
		}
	}

	ext.stop()
	wg.Wait() // the poller has handed over every result
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	send.stopAndFlush(drainCtx)
	logStats(logger, p.Stats())
	logger.Info("agent stopped")
	return nil
}

// load reads the agent's config under host, or under the name a previous
// registration assigned, which is the name Nagios knows the host by.
func load(path, host string, logger *slog.Logger) (*config.Config, error) {
	cfg, err := config.LoadAs(path, host)
	if err != nil || host != "" {
		return cfg, err
	}
	if a := assigned(cfg.StateDir); a != "" && a != cfg.Hostname {
		logger.Info("running under the host name the server assigned at registration", "config", cfg.Hostname, "assigned", a)
		return config.LoadAs(path, a)
	}
	return cfg, nil
}

// applyChecks hands the poller the local checks and the externals' merged.
func applyChecks(cfg *config.Config, ext *extRun, p *poller.Poller, logger *slog.Logger) {
	if err := p.Apply(mergeChecks(cfg.Checks, ext.checks(), logger)); err != nil {
		logger.Error("check list not applied; the previous one keeps running", "err", err)
	}
}

// reload reads the config again and applies what can change while running:
// the checks (unchanged ones keep their schedule) and the plugin settings.
// A config that does not load changes nothing. The externals' checks,
// ext, keep running meanwhile; the caller restarts the externals for the
// new config.
func reload(ctx context.Context, old *config.Config, host string, ext []check.Check, runner *swapRunner, p *poller.Poller, send *senders, logger *slog.Logger) *config.Config {
	cfg, err := load(old.File, host, logger)
	if err != nil {
		logger.Error("config reload failed; still running the previous config", "err", err)
		return old
	}
	if host != old.Hostname && host != "" {
		// A new name: the old name's externals must not run under it.
		ext = nil
	}
	if err := p.Apply(mergeChecks(cfg.Checks, ext, logger)); err != nil {
		logger.Error("config reload failed; still running the previous config", "err", err)
		return old
	}
	runner.set(NewRunner(cfg))
	if !sameTargets(cfg, old) {
		// The senders restart from their cursors in the spool, so nothing
		// queued is lost or sent twice.
		if err := send.restart(ctx, cfg); err != nil {
			logger.Error("new targets not applied; still sending to the previous ones", "err", err)
			cfg.Targets, cfg.Spool.FlushInterval, cfg.Spool.ReplayWindow = old.Targets, old.Spool.FlushInterval, old.Spool.ReplayWindow
		} else {
			logger.Info("targets reloaded", "targets", len(cfg.Targets))
		}
	}
	if cfg.Concurrency != old.Concurrency {
		logger.Warn("a concurrency change takes effect when the agent restarts")
	}
	if cfg.SpoolDir != old.SpoolDir || cfg.Spool.MaxAge != old.Spool.MaxAge || cfg.Spool.MaxBytes != old.Spool.MaxBytes {
		logger.Warn("spool_dir and spool limits take effect when the agent restarts")
	}
	logger.Info("config reloaded", "checks", len(cfg.Checks))
	return cfg
}

func logStats(logger *slog.Logger, s poller.Stats) {
	logger.Info("poller stats", "checks", s.Scheduled, "running", s.Running, "started", s.Started,
		"completed", s.Completed, "skipped", s.Skipped, "sink_errors", s.SinkErrors,
		"late_p99", s.Lateness.P99, "late_max", s.Lateness.Max)
}

// NewRunner builds the plugin runner a config describes.
func NewRunner(cfg *config.Config) *plugins.Runner {
	macros := make(map[string]string, len(cfg.Macros))
	for k, v := range cfg.Macros {
		macros[k] = v
	}
	return plugins.NewRunner(plugins.Config{
		Dirs:         cfg.PluginDirs,
		AllowOutside: cfg.AllowPluginsOutside,
		Macros:       macros,
		Interpreters: cfg.Interpreters,
		MaxOutput:    cfg.MaxOutput,
		KillGrace:    cfg.KillGrace.Duration,
	})
}

// swapRunner lets a reload change plugin settings under a running poller.
// A run already started keeps the runner it began with.
type swapRunner struct {
	p atomic.Pointer[plugins.Runner]
}

func (s *swapRunner) set(r *plugins.Runner) { s.p.Store(r) }

func (s *swapRunner) Run(ctx context.Context, c check.Check) check.Result {
	return s.p.Load().Run(ctx, c)
}
