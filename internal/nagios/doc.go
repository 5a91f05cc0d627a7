// Package nagios talks to a running Nagios (or Icinga 1, Naemon) through
// its files: it writes external commands to the command file or FIFO, and
// it writes the object config of registered hosts and reloads Nagios.
//
// # Command lines
//
// AppendCheckResult formats a passive check result byte-for-byte the way the
// nsca 2.10 daemon writes it, so that `picket server` is a drop-in
// replacement: same command, same escaping of plugin output (`\` becomes
// `\\`, a newline becomes `\n`), host and service cut at their first
// newline, an empty service turning the line into a host check result.
// AppendCommand formats any other command, such as RESTART_PROGRAM.
//
// # Writing
//
// CommandFile writes whole lines to the command file. Nagios' command file is
// a FIFO that only exists, and only has a reader, while Nagios runs; nsca
// drops results silently when it cannot deliver them. CommandFile instead
// reports every failure as an error naming the path (ErrNoReader when the FIFO
// has no reader, fs.ErrNotExist when the path is missing), never blocks on
// opening, keeps its descriptor open between writes, reopens after the reader
// went away, and never leaves a partial command behind without saying so.
//
// Queue sits on top of CommandFile for the server: the receiver submits lines
// without ever blocking, and Queue.Run writes them in batches, holding them
// across a Nagios restart and retrying with a capped backoff.
//
// # Objects
//
// Nagios drops passive results for hosts and services it does not know, so
// `picket server` defines every registered host. RenderHost writes a host
// and its services, each service passive-only with a freshness threshold,
// so that a dead agent shows as stale services saying for how long no
// result came. The host is passive with a freshness threshold (DOWN when
// its agent's host results stop), actively checked with a command a
// profile chose, or passive without freshness when nothing reports it. RenderCommands writes the command
// Nagios runs when a service goes stale. Objects.Sync makes the objects
// folder hold exactly the given hosts, runs the validate command (nagios4
// -v), puts every file back when validation fails, and has Nagios reload
// (a reload command, or RESTART_PROGRAM through the command file). The
// validate and reload commands are the only processes the package starts.
//
// # On disk
//
// The package appends to the command file named in the configuration and
// creates it only when asked to (CreateRegular).
//
// It owns the files in the objects folder (Objects.Dir) that start with
// Header: one <host>.cfg per host and picket-commands.cfg. Files without
// Header are never touched. While a reload has failed it keeps a hidden
// marker there, .picket-reload-pending; temporary files are hidden too
// (.picket-*.tmp), so Nagios never reads a half-written file.
//
// # Cancellation
//
// A Write blocked on a full FIFO returns when its context is cancelled,
// reporting how many bytes of how many were written. When the context of
// Queue.Run is cancelled, the queue makes one last attempt to flush, bounded
// by a short grace period, then stops and reports how many queued commands
// were not written; it starts no goroutine of its own.
//
// When the context of Objects.Sync is cancelled before validation passed,
// Sync kills the running validator with its process group, puts back every
// file it changed and returns the context's error. Cancelled during the
// reload, it kills the reload command and leaves the validated files, to be
// reloaded by the next Sync. Each command is also bounded by Objects.Timeout.
package nagios
