// Command picket is a Nagios-compatible passive check agent and its central
// server in one binary. `picket` alone lists the subcommands: the agent
// (run, check, config, externals, spool, doctor), the built-in checks run as Nagios
// plugins (plugin), send_nsca's drop-in (send), the
// installer's and the service manager's helpers (setup, service), the
// central side (server) and version.
//
// This package holds only subcommands, flags, signals and exit codes; the
// work is done by the packages it wires. It owns nothing on disk. SIGINT and
// SIGTERM cancel the context every subcommand runs under; SIGHUP reloads
// `picket run`.
package main
