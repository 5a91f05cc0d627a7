package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kardianos/service"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/hub"
	"github.com/picket-monitoring/picket/internal/logs"
	"github.com/picket-monitoring/picket/internal/setup"
)

const serviceUsage = `Usage: picket service install|uninstall|start|stop|restart|status [flags]

Manages picket as a system service: the Windows service control manager,
systemd, or a SysV init script where there is no systemd.

install registers "picket run --service --config FILE" (with --server,
"picket server --service --config FILE") to start at boot and restart on
failure; on Windows the service's recovery actions restart it after 5 s,
30 s and 60 s (a recovery setting the service manager refuses is a warning).
It does not start it. status prints running, stopped or not installed and exits 0 only
when running.

The deb and rpm packages and the MSI install the service themselves; this
is for hosts installed from the plain binary.
`

// stopTimeout bounds a service stop: the agent kills plugins still running
// after its kill_grace (5 s) and sends what it holds for up to 5 s more,
// well inside the 20 s Windows gives a service.
const stopTimeout = 15 * time.Second

func runService(_ context.Context, args []string, sio stdio) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(sio.err, serviceUsage)
		return exitUsage
	}
	action := args[0]
	fs := flag.NewFlagSet("service "+action, flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, serviceUsage); fs.PrintDefaults() }
	server := fs.Bool("server", false, "the central side (picket server) instead of the agent")
	name := fs.String("name", "", "service name (default picket, or picket-server with --server)")
	cfgPath := fs.String("config", "", "config file the service runs with (default "+config.DefaultPath()+", or "+hub.DefaultConfigPath+" with --server)")
	user := fs.String("user", "", "account the service runs as (default: the system's, root or LocalSystem)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	if *name == "" {
		*name = serviceName(*server)
	}
	if *cfgPath == "" {
		*cfgPath = config.DefaultPath()
		if *server {
			*cfgPath = hub.DefaultConfigPath
		}
	}
	abs, err := filepath.Abs(*cfgPath)
	if err != nil {
		fmt.Fprintf(sio.err, "picket service: --config: %v\n", err)
		return exitUsage
	}
	svc, err := service.New(noProgram{}, serviceConfig(*name, abs, *server, *user))
	if err != nil {
		fmt.Fprintf(sio.err, "picket service: %v\n", err)
		return exitCritical
	}
	system := service.ChosenSystem().String()
	switch action {
	case "install":
		if _, err := os.Stat(abs); err != nil {
			fmt.Fprintf(sio.err, "picket service: warning: %v (the service starts once it exists)\n", err)
		}
		if err = svc.Install(); err == nil {
			// Three restart actions ride out a server that takes a while
			// to come back; one the service manager refuses is a warning,
			// not a reason to leave the host without its service.
			var warnings []string
			warnings, err = setup.ServiceRecovery(*name)
			for _, w := range warnings {
				fmt.Fprintf(sio.err, "picket service: warning: %s\n", w)
			}
		}
	case "uninstall":
		_ = svc.Stop() // uninstalling a running service leaves it running
		err = svc.Uninstall()
		if err == nil {
			removeSysVLinks(*name, system)
		}
	case "start":
		err = svc.Start()
	case "stop":
		err = svc.Stop()
	case "restart":
		err = svc.Restart()
	case "status":
		return serviceStatus(svc, *name, system, sio)
	default:
		fmt.Fprintf(sio.err, "picket service: unknown action %q\n\n%s", action, serviceUsage)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(sio.err, "picket service %s %s (%s): %v\n", action, *name, system, err)
		return exitCritical
	}
	fmt.Fprintf(sio.out, "%s: %s done (%s)\n", *name, action, system)
	return exitOK
}

func serviceName(server bool) string {
	if server {
		return "picket-server"
	}
	return "picket"
}

func serviceConfig(name, cfgPath string, server bool, user string) *service.Config {
	c := &service.Config{
		Name:        name,
		DisplayName: "picket monitoring agent",
		Description: "Runs Nagios plugins on schedule and sends their results over NSCA.",
		// --service says, rather than a heuristic guesses, that the
		// service manager started the process.
		Arguments: []string{"run", "--service", "--config", cfgPath},
		UserName:  user,
		Option: service.KeyValue{
			// systemd: a crash or a failed start is retried, a clean stop
			// is not. Windows' recovery actions are set by
			// setup.ServiceRecovery, which warns where kardianos would
			// fail the install.
			"Restart":    "on-failure",
			"SysvScript": sysvScript,
		},
	}
	if server {
		c.DisplayName = "picket central server"
		c.Description = "Receives NSCA results for Nagios and serves the picket agents' check lists."
		c.Arguments = []string{"server", "--service", "--config", cfgPath}
	}
	return c
}

func serviceStatus(svc service.Service, name, system string, sio stdio) int {
	st, err := svc.Status()
	switch {
	case err == nil && st == service.StatusRunning:
		fmt.Fprintf(sio.out, "%s: running (%s)\n", name, system)
		return exitOK
	case err == nil && st == service.StatusStopped:
		fmt.Fprintf(sio.out, "%s: stopped (%s)\n", name, system)
	case errors.Is(err, service.ErrNotInstalled) || !sysVInstalled(name, system):
		fmt.Fprintf(sio.out, "%s: not installed (%s)\n", name, system)
	default:
		// A SysV script's status exits 3 when the service is stopped.
		fmt.Fprintf(sio.out, "%s: stopped (%s)\n", name, system)
	}
	return exitCritical
}

// sysVInstalled is false only when the SysV init script is known missing.
func sysVInstalled(name, system string) bool {
	if !strings.HasSuffix(system, "systemv") {
		return true
	}
	_, err := os.Stat("/etc/init.d/" + name)
	return err == nil
}

// removeSysVLinks removes the runlevel links a SysV install made, which
// uninstall leaves behind pointing at nothing.
func removeSysVLinks(name, system string) {
	if !strings.HasSuffix(system, "systemv") {
		return
	}
	for _, rl := range "0123456" {
		for _, prefix := range []string{"S50", "K02"} {
			os.Remove(fmt.Sprintf("/etc/rc%c.d/%s%s", rl, prefix, name))
		}
	}
}

// noProgram is for the service commands, which manage the service but are
// not it.
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }

// program runs picket as a Windows service: Start returns at once, Stop
// cancels and waits for the agent to kill its plugins and sync the spool.
type program struct {
	run    func(ctx context.Context, sink logs.EventSink) int
	sink   logs.EventSink
	cancel context.CancelFunc
	done   chan int
}

func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan int, 1)
	go func() {
		code := p.run(ctx, p.sink)
		if ctx.Err() == nil {
			// The agent gave up on its own (a config that does not load):
			// exit with its code so the recovery actions restart it.
			os.Exit(code)
		}
		p.done <- code
	}()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.cancel()
	select {
	case code := <-p.done:
		if code != exitOK {
			return fmt.Errorf("stopped with exit code %d", code)
		}
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("did not stop within %v", stopTimeout)
	}
}

// sysvScript is the init script for hosts without systemd: private log
// files, a stop that waits for plugins to be killed and the spool synced,
// reload by SIGHUP, and LSB exit codes for status.
const sysvScript = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          {{Path}}
# Required-Start:    $network $remote_fs
# Required-Stop:     $network $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: {{DisplayName}}
# Description:       {{Description}}
### END INIT INFO

cmd="{{Path}}{{range Arguments}} {{. | cmd}}{{end}}"
name=$(basename "$(readlink -f "$0")")
pid_file="/var/run/$name.pid"
log="{{LogDirectory}}/$name.log"
umask 027

is_running() {
    [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

case "$1" in
    start)
        if is_running; then echo "Running"; exit 0; fi
        $cmd >>"$log" 2>&1 &
        echo $! >"$pid_file"
        sleep 1
        if ! is_running; then echo "Unable to start, see $log"; exit 1; fi
        echo "Started"
        ;;
    stop)
        if ! is_running; then echo "Stopped"; rm -f "$pid_file"; exit 0; fi
        kill "$(cat "$pid_file")"
        i=0
        while is_running && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
        if is_running; then echo "Not stopped after 30 s"; exit 1; fi
        rm -f "$pid_file"
        echo "Stopped"
        ;;
    restart|force-reload)
        "$0" stop && "$0" start
        ;;
    reload)
        is_running && kill -HUP "$(cat "$pid_file")"
        ;;
    status)
        if is_running; then echo "Running"; exit 0; fi
        echo "Stopped"; exit 3
        ;;
    *)
        echo "Usage: $0 {start|stop|restart|reload|status}"; exit 2
        ;;
esac
exit 0
`
