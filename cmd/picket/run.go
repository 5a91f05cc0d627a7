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
)

const runUsage = `Usage: picket run [--config FILE] [--log-level info]

Runs the agent in the foreground: the checks of the config on their
schedules, results sent to every [[target]]. SIGINT or SIGTERM stops it
(plugins still running are killed and reported as interrupted); SIGHUP
reads the config again and applies its checks without a restart. A config
that fails to reload is logged and the running one kept.
`

func runRun(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, runUsage); fs.PrintDefaults() }
	cfgPath := fs.String("config", config.DefaultPath(), "agent config")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	logger, err := newLogger(sio.err, *level)
	if err != nil {
		fmt.Fprintf(sio.err, "picket run: --log-level: %v\n", err)
		return exitUsage
	}
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
	if err := agent.Run(ctx, agent.Options{ConfigPath: *cfgPath, Logger: logger, Reload: reload, Version: version}); err != nil {
		logger.Error("agent failed", "err", err)
		return exitCritical
	}
	return exitOK
}
