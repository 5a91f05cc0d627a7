package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/picket-monitoring/picket/internal/agent"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/logs"
)

const runUsage = `Usage: picket run [--config FILE] [--log-level LEVEL] [--service]

Runs the agent in the foreground: the checks of the config on their
schedules, results sent to every [[target]]. SIGINT or SIGTERM stops it
(plugins still running are killed and reported as interrupted); SIGHUP
reads the config again and applies its checks without a restart. A config
that fails to reload is logged and the running one kept.

Logs follow the config's [log] section (stderr by default, which is the
journal under systemd); --log-level overrides its levels. Started by the
Windows service control manager with --service (as picket service install
and the MSI register it), picket run is the service (see picket service)
and logs to the Event Log unless [log] names a file. Elsewhere --service
changes nothing.
`

func runRun(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, runUsage); fs.PrintDefaults() }
	cfgPath := fs.String("config", config.DefaultPath(), "agent config")
	level := fs.String("log-level", "", "debug, info, warn or error (default: the config's [log] level)")
	asService := fs.Bool("service", false, "run as the Windows service (the service manager's command line says so; elsewhere a no-op)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	if !levelFlagOK("picket run", *level, sio) {
		return exitUsage
	}
	if *asService {
		return runAsService(ctx, serviceName(false), sio, func(ctx context.Context, sink logs.EventSink) int {
			return runAgent(ctx, *cfgPath, *level, sio, sink)
		})
	}
	return runAgent(ctx, *cfgPath, *level, sio, nil)
}

// runAgent runs the agent until ctx ends; sink is the Event Log of a
// Windows service, else nil.
func runAgent(ctx context.Context, cfgPath, level string, sio stdio, sink logs.EventSink) int {
	// The [log] section decides where even the first lines go. A config
	// that does not load is reported by agent.Run below, through the
	// default logger.
	var sec config.Log
	if c, err := config.Load(cfgPath); err == nil {
		sec = c.Log
	} else {
		sec.Resolve(func(string, string) {})
	}
	logger, err := openLogs(sec, level, sio.err, sink)
	if err != nil {
		fmt.Fprintf(sio.err, "picket run: %v\n", err)
		return exitUsage
	}
	defer logger.Close()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-hup:
				select {
				case reload <- struct{}{}:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	err = agent.Run(ctx, agent.Options{
		ConfigPath: cfgPath,
		Logger:     logger.Logger,
		Reload:     reload,
		Version:    version,
		OnConfig:   followLevels(logger, level, sec),
	})
	if err != nil {
		logger.Error("agent failed", "err", err)
		return exitCritical
	}
	return exitOK
}
