package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/picket-monitoring/picket/internal/hub"
	"github.com/picket-monitoring/picket/internal/logs"
	"github.com/picket-monitoring/picket/nsca"
)

const serverUsage = `Usage: picket server [--config server.toml] [--nsca-config /etc/nsca.cfg] [--state-dir DIR] [--log-level info]
       picket server keygen --key FILE [--next]
       picket server hosts [--config server.toml] [--json]
       picket server hosts forget|rekey [--config server.toml] HOST
       picket server token add [--config server.toml] --name NAME [--hosts RE] [--profile P] [--expires 72h] [--max-uses N]
       picket server token list [--config server.toml] [--json]
       picket server render [--config server.toml] [--force] [HOST...]
       picket server config check [--config server.toml] [--nsca-config FILE] [--strict]
       picket server status [--config server.toml] [--json]

Runs the central side: the NSCA receiver into Nagios' command file, the
externals folder and the registration endpoint over HTTP(S), and Nagios
object files for registered hosts, each as the config enables it.

With --nsca-config, the NSCA receiver takes its settings (server_address,
server_port, password, decryption_method, command_file, max_packet_age)
from an nsca daemon's nsca.cfg, so picket can replace the daemon without
touching Nagios.

keygen writes a new externals signing key and prints the public key for
the agents' [externals] public_key (with --next, the key to rotate to).
hosts lists the registered agents and the key each host name is bound
to; hosts forget releases a host's name (its next registration with a
valid token binds a new key), hosts rekey lets a new key replace the
bound one at the next registration with a valid token. token add makes
an enrollment token, prints it once and keeps only its SHA-256; token
list shows the tokens and their uses. render renders registered hosts'
externals again from their profiles (after a profile changed); files an
administrator edited are kept unless --force. config check validates the
config and prints it as the server runs it, secrets masked. status asks
the running server how it is doing.
`

func runServer(ctx context.Context, args []string, sio stdio) int {
	if len(args) > 0 {
		switch args[0] {
		case "keygen":
			return runServerKeygen(args[1:], sio)
		case "hosts":
			return runServerHosts(ctx, args[1:], sio)
		case "token":
			return runServerToken(args[1:], sio)
		case "render":
			return runServerRender(ctx, args[1:], sio)
		case "config":
			return runServerConfig(args[1:], sio)
		case "status":
			return runServerStatus(ctx, args[1:], sio)
		}
	}
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, serverUsage); fs.PrintDefaults() }
	cfgFile := fs.String("config", "", "server config (default "+hub.DefaultConfigPath+" unless --nsca-config is given)")
	nscaCfg := fs.String("nsca-config", "", "take the NSCA receiver's settings from this nsca.cfg")
	level := fs.String("log-level", "", "debug, info, warn or error (default: the config's [log] level)")
	stateDir := fs.String("state-dir", "", "the server's state folder (registry, control socket), over the config's state_dir")
	asService := fs.Bool("service", false, "run as the Windows service (the service manager's command line says so; elsewhere a no-op)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if !levelFlagOK("picket server", *level, sio) {
		return exitUsage
	}

	cfg := &hub.Config{}
	if *cfgFile != "" || *nscaCfg == "" {
		path := *cfgFile
		if path == "" {
			path = hub.DefaultConfigPath
		}
		c, err := hub.LoadConfig(path)
		if err != nil {
			fmt.Fprintf(sio.err, "picket server: %v\n", err)
			return exitCritical
		}
		cfg = c
	} else {
		cfg.Log.Resolve(func(string, string) {})
	}
	if *stateDir != "" {
		cfg.StateDir = *stateDir
	}
	if *asService {
		return runAsService(ctx, serviceName(true), sio, func(ctx context.Context, sink logs.EventSink) int {
			return serve(ctx, cfg, *nscaCfg, *level, sio, sink)
		})
	}
	return serve(ctx, cfg, *nscaCfg, *level, sio, nil)
}

// serve runs the central side until ctx ends; sink is the Event Log of a
// Windows service, else nil.
func serve(ctx context.Context, cfg *hub.Config, nscaCfg, level string, sio stdio, sink logs.EventSink) int {
	logger, err := openLogs(cfg.Log, level, sio.err, sink)
	if err != nil {
		fmt.Fprintf(sio.err, "picket server: %v\n", err)
		return exitUsage
	}
	defer logger.Close()
	if nscaCfg != "" {
		notes, code, err := applyNSCAConfig(cfg, nscaCfg)
		if err != nil {
			fmt.Fprintf(sio.err, "picket server: %v\n", err)
			return code
		}
		if notes.worldReadable {
			logger.Warn(nscaWorldReadable, "file", nscaCfg)
		}
		if len(notes.ignored) > 0 {
			logger.Info("nsca.cfg options with no effect on picket", "file", nscaCfg, "options", notes.ignored)
		}
	}
	cfg.Version = version // for picket server status
	if err := hub.Run(ctx, cfg, logger.Logger, nil); err != nil {
		logger.Error("picket server failed", "err", err)
		return exitCritical
	}
	return exitOK
}

// nscaNotes are what an nsca.cfg taken by --nsca-config is worth telling.
type nscaNotes struct {
	worldReadable bool     // it holds the password and every user may read it
	ignored       []string // options with no effect on picket
}

const nscaWorldReadable = "nsca.cfg holds the NSCA password and is readable by every user; chmod o-r it"

// applyNSCAConfig takes cfg's [nsca] from the nsca.cfg at path, as picket
// server --nsca-config does; on error, code is the exit code.
func applyNSCAConfig(cfg *hub.Config, path string) (notes nscaNotes, code int, err error) {
	if cfg.NSCA != nil {
		return notes, exitUsage, fmt.Errorf("both %s [nsca] and --nsca-config configure the receiver; use one", cfg.File)
	}
	sc, err := nsca.ReadServerConfigFile(path)
	if err == nil {
		cfg.NSCA, err = hub.FromNSCAConfig(sc)
	}
	if err != nil {
		return notes, exitCritical, fmt.Errorf("%s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o004 != 0 && len(sc.Password) > 0 {
		notes.worldReadable = true
	}
	notes.ignored = sc.Ignored
	return notes, exitOK, nil
}
