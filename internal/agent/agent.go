package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picket-monitoring/picket/icinga2"
	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/control"
	"github.com/picket-monitoring/picket/internal/metrics"
	"github.com/picket-monitoring/picket/internal/schedule"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/plugins"
	"github.com/picket-monitoring/picket/plugins/builtin"
	"github.com/picket-monitoring/picket/poller"
	"github.com/picket-monitoring/picket/spooler"
	"github.com/prometheus/client_golang/prometheus"
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

// Agent is one running agent: its config and the parts it wires together.
// New loads the config; Start opens the spool and starts the senders, the
// externals and the poller, sinks before sources; Reload applies a new
// config to the running parts; Stop ends them in the opposite order. Only
// the goroutine that called Start may call Reload and Stop.
type Agent struct {
	o      Options
	logger *slog.Logger
	cfg    *config.Config

	spool  *spool.Spool
	send   *spooler.Spooler
	sink   *spoolSink
	runner *swapRunner
	poller *poller.Poller
	watch  *poller.Watcher
	ext    *extRun
	health *spoolerHealth
	losses *lossLedger
	// running is the check list the poller runs, for the results' TTL.
	running atomic.Pointer[map[check.Key]check.Check]

	// sendDone and pollDone close when the senders and the poller have
	// returned; stopSend and stopPoll end them.
	sendDone, pollDone chan struct{}
	stopSend           context.CancelFunc
	stopPoll           context.CancelCauseFunc
	// The control channel: stopControl ends it, controlDone says it has.
	stopControl context.CancelFunc
	controlDone chan struct{}
	statusReq   chan chan Status
	started     time.Time
	// The Prometheus endpoint, nil while [metrics] is off, and the
	// registry it serves, which outlives a reload that moves it.
	metrics    *metrics.Endpoint
	metricsReg *prometheus.Registry
}

// New loads the config under the host name a registration assigned, if
// one did. It starts nothing.
func New(o Options) (*Agent, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := load(o.ConfigPath, "", o.Logger)
	if err != nil {
		return nil, err
	}
	return &Agent{o: o, logger: o.Logger, cfg: cfg, statusReq: make(chan chan Status)}, nil
}

// Config is the config the agent runs.
func (a *Agent) Config() *config.Config { return a.cfg }

// Start opens the spool and starts the senders, then the externals and the
// poller, so that every result the poller produces is stored and gets a
// chance to be sent. A failure leaves nothing running. The parts run until
// Stop; ctx only bounds the start.
func (a *Agent) Start(ctx context.Context) (err error) {
	cfg := a.cfg
	if a.o.OnConfig != nil {
		a.o.OnConfig(cfg)
	}
	if len(cfg.Targets) == 0 {
		// An installer may start the service before anyone configured it:
		// run, keep what the checks report, and deliver it once a reload
		// brings a target.
		a.logger.Warn("no [[target]] in the config: results stay in the spool until one is configured", "config", cfg.File)
	}
	if a.spool, err = OpenSpool(cfg, a.logger.With("component", "spool"), false); err != nil {
		return fmt.Errorf("%s: %w", cfg.File, err)
	}
	defer func() {
		if err != nil {
			a.Stop()
		}
	}()
	if err := a.startSenders(cfg); err != nil {
		return fmt.Errorf("%s: %w", cfg.File, err)
	}
	a.losses = openLossLedger(cfg.StateDir)
	a.sink = newSpoolSink(a.spool, a.send.Wake, func(r check.Result, err error) {
		a.losses.notStored(err, r.CheckTime, time.Now())
	})
	a.runner = &swapRunner{}
	a.runner.set(NewRunner(cfg))
	a.poller = poller.New(poller.Options{
		Runner:      a.runner,
		Sink:        a.sink,
		Concurrency: cfg.Concurrency,
		Logger:      a.logger.With("component", "poller"),
	})
	a.watch = poller.NewWatcher(a.sink, nil, a.logger.With("component", "watch"))
	if a.ext, err = startExternals(cfg, a.o.Version, a.logger.With("component", "externals")); err != nil {
		return fmt.Errorf("%s: %w", cfg.File, err)
	}
	if err := a.apply(mergeChecks(cfg.Checks, a.ext.checks(), a.logger)); err != nil {
		return fmt.Errorf("%s: %w", cfg.File, err)
	}
	a.startPoller()
	a.startControl()
	a.startMetrics(cfg)
	a.started = time.Now()
	a.warnCommands(cfg)
	a.health = newSpoolerHealth(cfg)
	a.logger.Info("agent started", "config", cfg.File, "host", cfg.Hostname, "checks", len(*a.running.Load()),
		"local_checks", len(cfg.Checks), "targets", len(cfg.Targets),
		"plugin_containment", a.runner.p.Load().Containment())
	return nil
}

// startSenders creates the spooler for cfg's targets and runs it. The
// senders outlive any caller's context: they stop after the poller, in
// Stop.
func (a *Agent) startSenders(cfg *config.Config) error {
	syncCursors(a.spool, cfg.Targets, a.logger)
	o, err := spoolerOptions(cfg)
	if err != nil {
		return err
	}
	o.Log, o.Logger = a.spool, a.logger.With("component", "spooler")
	o.TTL, o.Refused, o.Policy = a.ttl, a.refused, a.policy
	if a.send, err = spooler.New(o); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stopSend, a.sendDone = cancel, make(chan struct{})
	go func() {
		defer close(a.sendDone)
		if err := a.send.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("spooler stopped", "err", err)
		}
	}()
	return nil
}

// startControl opens the control channel (`picket status`, `picket
// run-now`). Without it the agent still runs: it is how people look in,
// not what the agent is for.
func (a *Agent) startControl() {
	path := ControlPath(a.cfg)
	ln, err := control.Listen(path)
	if err != nil {
		a.logger.Error("control channel not opened: picket status and run-now will not reach this agent", "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stopControl, a.controlDone = cancel, make(chan struct{})
	go func() {
		defer close(a.controlDone)
		if err := control.Serve(ctx, ln, a.controlHandler(), a.logger.With("component", "control")); err != nil {
			a.logger.Error("control channel stopped", "err", err)
		}
	}()
	a.logger.Debug("control channel open", "path", path)
}

// startPoller runs the poller and the watcher until Stop. Plugins the
// poller kills on the way out say why in their results.
func (a *Agent) startPoller() {
	ctx, cancel := context.WithCancelCause(context.Background())
	a.stopPoll, a.pollDone = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.poller.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("poller stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := a.watch.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("watcher stopped", "err", err)
		}
	})
	go func() {
		wg.Wait()
		close(a.pollDone)
	}()
}

// Stop ends what Start started, sources first: the externals, then the
// poller (plugins still running are killed and their results stored), then
// the senders, which get drainTimeout to send what is left, then the
// spool. Calling it on an agent that never started, or twice, is harmless.
func (a *Agent) Stop() { a.StopWith(errors.New("agent stopping")) }

// StopWith is Stop with the reason plugins killed on the way out report.
func (a *Agent) StopWith(cause error) {
	a.stopMetrics()
	if a.stopControl != nil {
		a.stopControl()
		<-a.controlDone
		a.stopControl = nil
	}
	a.ext.stop()
	a.ext = nil
	if a.stopPoll != nil {
		a.stopPoll(cause)
		<-a.pollDone
		a.stopPoll = nil
		logStats(a.logger, a.poller.Stats())
	}
	if a.stopSend != nil {
		a.stopSend()
		<-a.sendDone
		a.stopSend = nil
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		if err := a.send.Flush(ctx); err != nil {
			a.logger.Warn("results not sent before stopping; they stay in the spool for the next start", "err", err)
		}
		cancel()
	}
	if a.spool != nil {
		if err := a.spool.Close(); err != nil {
			a.logger.Error("closing the spool", "err", err)
		}
		a.spool = nil
		a.logger.Info("agent stopped")
	}
}

// Run loads the config and runs the agent until ctx is cancelled. It fails
// only at start (an unusable config); afterwards, a config that fails to
// reload is logged and the running one kept.
func Run(ctx context.Context, o Options) error {
	a, err := New(o)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	a.serve(ctx)
	a.StopWith(fmt.Errorf("agent stopping (%w)", context.Cause(ctx)))
	return nil
}

// serve answers reloads, renames and externals changes, and reports the
// agent's health, until ctx ends.
func (a *Agent) serve(ctx context.Context) {
	every := a.cfg.Health.Interval.Duration
	if a.o.StatsEvery > 0 {
		every = a.o.StatsEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	r := reporter{prev: a.poller.Stats(), last: time.Now()}
	// The host turns UP at once rather than a health interval after start
	// (or after the registration, for a host the server does not know).
	r.hostReported = a.reportHost(r.last)
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.o.Reload:
			a.Reload("")
		case host := <-a.ext.renamedTo():
			a.logger.Info("the server assigned this agent another host name; reloading under it", "from", a.cfg.Hostname, "to", host)
			a.Reload(host)
		case <-a.ext.changed():
			a.applyChecks()
			r.externalsChanged(a)
		case reply := <-a.statusReq:
			reply <- a.status()
		case now := <-tick.C:
			r.tick(a, now)
		}
	}
}

// warnCommands logs, at its file and line, each local check whose command
// cannot be started as it stands (bad quoting, an undefined macro, a
// plugin not found): the check still runs, and reports UNKNOWN saying why,
// but the administrator should not have to wait for that to learn it.
func (a *Agent) warnCommands(cfg *config.Config) {
	r := NewRunner(cfg)
	for _, c := range cfg.Checks {
		if _, err := r.Command(c); err != nil {
			a.logger.Warn("check cannot be started as configured", "at", cfg.Origins[c.Key()].String(), "check", c.Key().String(), "err", err)
		}
	}
}

// applyChecks hands the poller the local checks and the externals' merged.
func (a *Agent) applyChecks() {
	if err := a.apply(mergeChecks(a.cfg.Checks, a.ext.checks(), a.logger)); err != nil {
		a.logger.Error("check list not applied; the previous one keeps running", "err", err)
	}
}

// apply hands the poller list, the watches among it to the watcher, and
// keeps it for ttl. A watch that cannot be evaluated in-process is logged
// and polled instead, so its result says what is wrong.
func (a *Agent) apply(list []check.Check) error {
	var polled []check.Check
	var watches []poller.Watch
	r := a.runner.p.Load()
	for _, c := range list {
		if !c.Watch {
			polled = append(polled, c)
			continue
		}
		ev, err := r.Evaluator(c)
		if err != nil {
			a.logger.Error("watch cannot be evaluated in-process; polling it instead", "check", c.Key().String(), "err", err)
			polled = append(polled, c)
			continue
		}
		watches = append(watches, poller.Watch{Check: c, Eval: ev})
	}
	if err := a.poller.Apply(polled); err != nil {
		return err
	}
	a.watch.Apply(watches)
	m := make(map[check.Key]check.Check, len(list))
	for _, c := range list {
		m[c.Key()] = c
	}
	a.running.Store(&m)
	return nil
}

// ttlSlack is what a result's TTL allows beyond the check's schedule: the
// spool's flush, the network, the receiver's own sweep.
const ttlSlack = time.Minute

// ttl is how long a result of k stays current: what Nagios' freshness
// threshold is, so Icinga needs no configuration for it. The agent's own
// services report every health interval.
func (a *Agent) ttl(k check.Key) time.Duration {
	if m := a.running.Load(); m != nil {
		if c, ok := (*m)[k]; ok {
			return schedule.Overdue(c, time.Now(), ttlSlack)
		}
	}
	cfg := a.cfg
	if k.Host == cfg.Hostname && slices.Contains([]string{cfg.Health.PollerService, cfg.Health.SpoolerService, cfg.Health.ExternalsService, ""}, k.Service) {
		return schedule.Overdue(check.Check{Interval: cfg.Health.Interval.Duration}, time.Now(), ttlSlack)
	}
	return 0
}

// policy is how results of k are sent: on change only, where its check
// says so.
func (a *Agent) policy(k check.Key) spooler.SendPolicy {
	if m := a.running.Load(); m != nil {
		if c, ok := (*m)[k]; ok && c.SendOnChange {
			return spooler.SendPolicy{OnChange: true, OnOutput: c.SendOnOutputChange, Heartbeat: c.Heartbeat}
		}
	}
	return spooler.SendPolicy{}
}

// refused hears of a result a target refused for good. An object Icinga
// does not know is one the server never created: registering again
// declares the agent's services, and the server creates them.
func (a *Agent) refused(target string, it spooler.Item) {
	if errors.Is(it.Refused, icinga2.ErrUnknownObject) {
		a.ext.askRegistration()
	}
}

// putOwn stores one of the agent's own results; a problem wakes the
// senders. One the spool cannot store (a full disk) is sent without it, so
// that Nagios hears that results are being lost; it is not counted as lost
// itself, since the next report replaces it anyway.
func (a *Agent) putOwn(r check.Result) {
	if err := a.sink.store(context.Background(), r); err != nil {
		a.logger.Error("cannot store the agent's own result; sending it without the spool", "service", r.Service, "err", err)
		if err := a.send.SendNow(r); err != nil {
			a.logger.Error("cannot send the agent's own result", "service", r.Service, "err", err)
		}
	}
	if r.State != check.OK {
		a.send.Wake()
	}
}

// reporter remembers what the health reports compare against.
type reporter struct {
	prev    poller.Stats
	last    time.Time
	lastExt check.Result
	// hostReported is whether the host result went out since start.
	hostReported bool
}

// tick logs the figures and, with [health] on, reports on the agent's own
// services.
func (r *reporter) tick(a *Agent, now time.Time) {
	cur := a.poller.Stats()
	logStats(a.logger, cur)
	sst, spst := a.send.Stats(), a.spool.Stats()
	logSpoolStats(a.logger, spst, sst)
	cfg := a.cfg
	a.losses.absorb(a.spool, cursorsOf(cfg.Targets))
	hold := cfg.Health.LossAlert.Duration
	if cfg.Health.On() {
		a.putOwn(pollerHealth(cfg.Hostname, cfg.Health.PollerService, r.prev, cur, now, now.Sub(r.last)))
		a.putOwn(a.health.report(now, spst, sst, a.losses.active(now, hold), a.sink.storeErr()))
		if a.ext != nil {
			r.lastExt = a.ext.m.report(now)
			a.putOwn(r.lastExt)
		}
		r.hostReported = a.reportHost(now) || r.hostReported
	}
	if err := a.losses.save(now, hold); err != nil {
		a.logger.Error("cannot save the ledger of lost results", "err", err)
	}
	pruneCursors(a.spool, cfg.Targets, a.logger)
	r.prev, r.last = cur, now
}

// cursorsOf is the set of spool cursors targets read through.
func cursorsOf(targets []config.Target) map[string]bool {
	m := make(map[string]bool, len(targets))
	for _, t := range targets {
		m[t.Cursor()] = true
	}
	return m
}

// externalsChanged reports a change of the externals' state at once, so an
// administrator sees a rejected file or the new version now.
func (r *reporter) externalsChanged(a *Agent) {
	if !a.cfg.Health.On() || a.ext == nil || a.ext.m.unknown() {
		return
	}
	if !r.hostReported {
		r.hostReported = a.reportHost(time.Now())
	}
	if rep := a.ext.m.report(time.Now()); rep.State != r.lastExt.State || rep.Output != r.lastExt.Output {
		a.putOwn(rep)
		r.lastExt = rep
	}
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
		// Built-in checks that remember where they stopped (eventlog,
		// logfile) keep it in state_dir, re-exec'd or in-process.
		Env:      append(os.Environ(), builtin.StateDirEnv+"="+filepath.Join(cfg.StateDir, "builtin")),
		StateDir: filepath.Join(cfg.StateDir, "builtin"),
		Secrets:  cfg.Secrets,
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
