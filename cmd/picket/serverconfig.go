package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/picket-monitoring/picket/internal/hub"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

const serverConfigUsage = `Usage: picket server config check [--config server.toml] [--nsca-config /etc/nsca.cfg] [--strict]

Validates the server config (default ` + hub.DefaultConfigPath + ` unless only
--nsca-config is given) as picket server loads it, and prints it as the
server would run it: defaults filled in, the cipher by name, the control
channel's path. Problems are listed all at once, each with file, line and
field. Secrets are never printed: the files that hold them are named, never
read out, and a password written into a URL is masked. With --nsca-config
the [nsca] section is taken from an nsca daemon's nsca.cfg, as picket
server --nsca-config does (its password is not printed either).

Exit codes: 0 valid; 2 invalid (or warnings with --strict); 3 usage.
`

func runServerConfig(args []string, sio stdio) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(sio.out, serverConfigUsage)
		return exitOK
	}
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(sio.err, serverConfigUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("server config check", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.Usage = func() { fmt.Fprint(sio.err, serverConfigUsage) }
	cfgFile := fs.String("config", "", "server config (default "+hub.DefaultConfigPath+" unless --nsca-config is given)")
	nscaCfg := fs.String("nsca-config", "", "take the NSCA receiver's settings from this nsca.cfg")
	strict := fs.Bool("strict", false, "treat warnings as errors")
	if code, done := parseFlags(fs, args[1:], serverConfigUsage, sio); done {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	cfg := &hub.Config{}
	if *cfgFile != "" || *nscaCfg == "" {
		c, err := hub.LoadConfig(cmpOr(*cfgFile, hub.DefaultConfigPath))
		if err != nil {
			fmt.Fprintf(sio.err, "%v\n", err)
			return exitCritical
		}
		cfg = c
	} else {
		cfg.Log.Resolve(func(string, string) {})
	}
	var notes nscaNotes
	if *nscaCfg != "" {
		n, code, err := applyNSCAConfig(cfg, *nscaCfg)
		if err != nil {
			fmt.Fprintf(sio.err, "%v\n", err)
			return code
		}
		notes = n
	}
	if cfg.NSCA == nil && cfg.HTTP == nil {
		fmt.Fprintf(sio.err, "%s: %v\n", cmpOr(cfg.File, "picket server"), hub.ErrNothingToServe)
		return exitCritical
	}
	out, err := cfg.Effective(*nscaCfg)
	if err != nil {
		fmt.Fprintf(sio.err, "picket server config check: %v\n", err)
		return exitCritical
	}
	sio.out.Write(out)

	warnings := serverConfigWarnings(cfg)
	if notes.worldReadable {
		warnings = append(warnings, *nscaCfg+": warning: "+nscaWorldReadable)
	}
	for _, w := range warnings {
		fmt.Fprintln(sio.err, w)
	}
	if len(notes.ignored) > 0 {
		fmt.Fprintf(sio.err, "%s: options with no effect on picket: %v\n", *nscaCfg, notes.ignored)
	}
	if len(warnings) > 0 && *strict {
		return exitCritical
	}
	return exitOK
}

// serverConfigWarnings are what a valid config may still get wrong, each
// placed on its line of the file.
func serverConfigWarnings(cfg *hub.Config) []string {
	var data []byte
	if cfg.File != "" {
		data, _ = os.ReadFile(cfg.File)
	}
	var out []string
	warn := func(field, msg string) {
		loc := cmpOr(cfg.File, "picket server")
		if line := tomlfile.FieldLine(data, field); line > 0 {
			loc = fmt.Sprintf("%s:%d", loc, line)
		}
		out = append(out, fmt.Sprintf("%s: warning: %s: %s", loc, field, msg))
	}
	if h := cfg.HTTP; h != nil && h.TLSCert == "" {
		warn("http", "no tls_cert and tls_key: HTTP without TLS; use it on loopback or a trusted network only")
	}
	if n := cfg.Nagios; n != nil && n.ValidateCommand == "" {
		warn("nagios.validate_command", "missing: a bad object reaches Nagios unchecked, and Nagios refuses to restart with it")
	}
	// A Unix socket's path has room for 104 bytes on BSD and macOS, 108
	// on Linux: a longer one cannot be listened on.
	if p := hub.ControlPath(cfg); runtime.GOOS != "windows" && len(p) >= 104 {
		field := "state_dir"
		if cfg.ControlSocket != "" {
			field = "control_socket"
		}
		warn(field, fmt.Sprintf("the control socket %s is %d bytes long, more than a Unix socket's path may be: picket server status could not reach the server; set control_socket", p, len(p)))
	}
	return out
}
