// Command picket is a Nagios-compatible passive check agent and its central
// server in one binary: `picket send` (send_nsca's drop-in), `picket server`
// (the nsca daemon's replacement), `picket plugin` (the built-in checks,
// run as Nagios plugins), `picket version`.
//
// This package holds only subcommands, flags, signals and exit codes; the
// work is done by the packages it wires. It owns nothing on disk. SIGINT and
// SIGTERM cancel the context every subcommand runs under.
package main
