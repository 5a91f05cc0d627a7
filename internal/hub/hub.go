package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/nsca"
)

// Addrs are the addresses picket server listens on, nil for a side the
// config does not enable.
type Addrs struct{ NSCA, HTTP, Metrics net.Addr }

// Run serves cfg until ctx ends: the NSCA receiver, the HTTP side
// (externals and registration) and the Nagios objects, each if configured.
// ready, if not nil, is called once every listener accepts connections.
func Run(ctx context.Context, cfg *Config, logger *slog.Logger, ready func(Addrs)) error {
	if cfg.NSCA == nil && cfg.HTTP == nil {
		return ErrNothingToServe
	}
	b := newBoard(cfg)
	var addrs Addrs
	m := newServerMetrics(cfg.Metrics)
	defer m.stop()
	var starts []func(context.Context) error
	// A side that cannot start closes the socket of one already open.
	var opened []net.Listener
	fail := func(err error) error {
		for _, ln := range opened {
			ln.Close()
		}
		return err
	}
	if cfg.NSCA != nil {
		run, ln, err := listenNSCA(ctx, cfg.NSCA, logger, b, m)
		if err != nil {
			return err
		}
		opened = append(opened, ln)
		addrs.NSCA, starts = ln.Addr(), append(starts, b.track("nsca", ln.Addr(), run))
	}
	if cfg.HTTP != nil || cfg.Nagios != nil || cfg.Icinga2 != nil {
		side, err := newCentral(ctx, cfg, logger)
		if err != nil {
			return fail(err)
		}
		b.attach(side)
		if cfg.HTTP != nil {
			run, addr, err := side.listen(ctx)
			if err != nil {
				return fail(err)
			}
			addrs.HTTP, starts = addr, append(starts, b.track("http", addr, run))
		}
		starts = append(starts, side.maintain)
	}
	starts = append(starts, b.serveControl(ctx, logger)...)
	addrs.Metrics = m.start(ctx, cfg.Metrics, logger)
	if ready != nil {
		ready(addrs)
	}
	errs := make(chan error, len(starts))
	for _, run := range starts {
		go func() { errs <- run(ctx) }()
	}
	var all []error
	for range starts {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// listenNSCA opens the NSCA receiver's socket and returns what serves it.
func listenNSCA(ctx context.Context, n *NSCAConfig, logger *slog.Logger, b *board, m *serverMetrics) (func(context.Context) error, net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", n.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("nsca: listen on %s: %w", n.Listen, err)
	}
	run := func(ctx context.Context) error {
		cf := nagios.NewCommandFile(n.CommandFile)
		defer cf.Close()
		queue := nagios.NewQueue(cf, n.QueueSize, logger)
		drops := newDropLedger(logger, n.LossAlert.Duration)
		srv := &nsca.Server{
			Method:       n.Method,
			Password:     n.Password,
			MaxPacketAge: n.MaxPacketAge.Duration,
			ReadTimeout:  n.ReadTimeout.Duration,
			MaxConns:     n.MaxConns,
			CheckTimes:   true,
			// Zero is the library's default (an eighth of MaxConns).
			MaxConnsPerSource: n.MaxConnsPerSource,
			Handler:           newCommandWriter(n, queue, drops),
			Logger:            logger,
		}
		m.addNSCA(srv, queue, drops)

		// The queue outlives the receiver: stop taking results first, then
		// let the queue write what it holds.
		queueCtx, stopQueue := context.WithCancel(context.WithoutCancel(ctx))
		defer stopQueue()
		queueDone := make(chan error, 1)
		go func() { queueDone <- queue.Run(queueCtx) }()

		logger.Info("picket server: NSCA receiver listening", "addr", ln.Addr().String(),
			"encryption", n.Method.String(), "command_file", n.CommandFile,
			"max_packet_age", n.MaxPacketAge.String())
		stopStats := logStatsEvery(ctx, 5*time.Minute, logger, srv, queue)
		stopReport := reportEvery(ctx, n, srv, queue, drops)
		defer b.watchNSCA(ctx, srv, queue, drops)()
		serveErr := srv.Serve(ctx, ln)
		stopReport()
		stopStats()
		stopQueue()
		qerr := <-queueDone
		logStats(logger, "picket server: stopped", srv, queue)
		return errors.Join(serveErr, qerr)
	}
	return run, ln, nil
}

// commandWriter hands each result to Nagios under the time it was checked
// when the agent said (a picket agent does), else under the time it
// arrived: as a command-file line, which never blocks the connection (the
// queue takes the line, or the drop is counted), or as a result file in
// check_result_path.
type commandWriter struct {
	queue *nagios.Queue
	dir   *nagios.ResultDir
	drops *dropLedger
}

func newCommandWriter(n *NSCAConfig, q *nagios.Queue, drops *dropLedger) *commandWriter {
	w := &commandWriter{queue: q, drops: drops}
	if n.CheckResultPath != "" {
		w.dir = nagios.NewResultDir(n.CheckResultPath)
	}
	return w
}

func (w *commandWriter) HandleNSCA(_ context.Context, r nsca.Received) {
	at := r.Time
	if !r.Checked.IsZero() {
		at = r.Checked
	}
	if w.dir != nil {
		if err := w.dir.Write(at, r.Host, r.Service, int(r.ReturnCode), r.Output); err != nil {
			w.drops.failed(r, err, time.Now())
			return
		}
		w.drops.queued()
		return
	}
	var buf [512]byte
	line := nagios.AppendCheckResult(buf[:0], at, r.Host, r.Service, int(r.ReturnCode), r.Output)
	if w.queue.Submit(line) {
		w.drops.queued()
	} else {
		w.drops.drop(r, time.Now())
	}
}

// reportEvery writes the server's own result into the command file every
// report_interval, when [nsca] report_host names the host to report on.
func reportEvery(ctx context.Context, n *NSCAConfig, srv *nsca.Server, q *nagios.Queue, drops *dropLedger) (stop func()) {
	if n.ReportHost == "" {
		return func() {}
	}
	return every(ctx, n.ReportInterval.Duration, func(now time.Time) {
		runs, total := drops.recent(now)
		r := serverReport(n.ReportHost, n.ReportService, now, srv.Stats(), q.Stats(), runs, total)
		q.Submit(nagios.AppendCheckResult(nil, now, r.Host, r.Service, r.ExitCode, r.PluginOutput()))
	})
}

func logStatsEvery(ctx context.Context, d time.Duration, logger *slog.Logger, srv *nsca.Server, q *nagios.Queue) (stop func()) {
	return every(ctx, d, func(time.Time) { logStats(logger, "picket server: stats", srv, q) })
}

// every calls fn with the time at each tick of d until ctx ends or stop is
// called; stop returns once fn no longer runs.
func every(ctx context.Context, d time.Duration, fn func(now time.Time)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				fn(now)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func logStats(logger *slog.Logger, msg string, srv *nsca.Server, q *nagios.Queue) {
	s, qs := srv.Stats(), q.Stats()
	logger.Info(msg, "connections", s.Connections, "refused", s.Refused, "refused_per_source", s.RefusedPerSource, "packets", s.Packets,
		"legacy_packets", s.LegacyPackets, "bad_crc", s.BadCRC, "bad_version", s.BadVersion,
		"stale", s.Stale, "short", s.ShortPackets, "written", qs.Written, "dropped", qs.Dropped,
		"pending", qs.Pending, "lost", qs.Lost)
}
