package agent

import (
	"github.com/picket-monitoring/picket/internal/config"
)

// Reload reads the config again, under host when a registration assigned
// one ("" keeps the current name), and applies what can change while
// running: the checks (unchanged ones keep their schedule), the plugin
// settings, the targets (only the groups that changed restart) and the
// externals. A config that does not load, or that the poller or the
// senders refuse, changes nothing: the running one is kept, and the error
// is logged and returned.
func (a *Agent) Reload(host string) error {
	old := a.cfg
	cfg, err := load(old.File, host, a.logger)
	if err != nil {
		a.logger.Error("config reload failed; still running the previous config", "err", err)
		if host != "" {
			a.logger.Error("externals stopped: the config does not load under the assigned host name; fix it and send SIGHUP", "host", host)
		}
		return err
	}
	ext := a.ext.checks()
	if host != old.Hostname && host != "" {
		ext = nil // the old name's externals must not run under the new one
	}
	// The new runner first: watches are built with it.
	prevRunner := a.runner.p.Load()
	a.runner.set(NewRunner(cfg))
	if err := a.apply(mergeChecks(cfg.Checks, ext, a.logger)); err != nil {
		a.runner.set(prevRunner)
		a.logger.Error("config reload failed; still running the previous config", "err", err)
		return err
	}
	a.warnCommands(cfg)
	a.applyTargets(old, cfg)
	warnRestartOnly(a, old, cfg)
	a.cfg = cfg
	a.reloadMetrics(old, cfg)
	if a.o.OnConfig != nil {
		a.o.OnConfig(cfg)
	}
	a.restartExternals()
	a.health.configure(cfg)
	a.logger.Info("config reloaded", "checks", len(cfg.Checks), "targets", len(cfg.Targets))
	return nil
}

// applyTargets hands the senders cfg's targets. If they refuse them, the
// old targets stay, in the senders and in cfg, so the two never disagree.
func (a *Agent) applyTargets(old, cfg *config.Config) {
	o, err := spoolerOptions(cfg)
	if err == nil {
		syncCursors(a.spool, cfg.Targets, a.logger)
		err = a.send.Apply(o)
	}
	if err != nil {
		a.logger.Error("new targets not applied; still sending to the previous ones", "err", err)
		cfg.Targets, cfg.Spool.FlushInterval, cfg.Spool.ReplayWindow = old.Targets, old.Spool.FlushInterval, old.Spool.ReplayWindow
	}
}

// warnRestartOnly says which changes wait for a restart.
func warnRestartOnly(a *Agent, old, cfg *config.Config) {
	if cfg.Concurrency != old.Concurrency {
		a.logger.Warn("a concurrency change takes effect when the agent restarts")
	}
	if cfg.SpoolDir != old.SpoolDir || cfg.Spool.MaxAge != old.Spool.MaxAge || cfg.Spool.MaxBytes != old.Spool.MaxBytes {
		a.logger.Warn("spool_dir and spool limits take effect when the agent restarts")
	}
}

// restartExternals replaces the externals manager with one for the current
// config; the new one starts from the last-known-good files on disk.
func (a *Agent) restartExternals() {
	a.ext.stop()
	var err error
	if a.ext, err = startExternals(a.cfg, a.o.Version, a.logger.With("component", "externals")); err != nil {
		a.logger.Error("externals not started; running the local checks only", "err", err)
	}
	a.applyChecks()
	a.sink.forget(mergeChecks(a.cfg.Checks, a.ext.checks(), a.logger))
}
