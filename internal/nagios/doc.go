// Package nagios talks to a running Nagios (or Icinga 1, Naemon) through
// its files: it writes external commands to the command file or FIFO, and
// (later) renders object config for registered hosts and reloads Nagios.
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
// # On disk
//
// The package owns nothing on disk. It appends to the command file named in
// the configuration and creates it only when asked to (CreateRegular).
//
// # Cancellation
//
// A Write blocked on a full FIFO returns when its context is cancelled,
// reporting how many bytes of how many were written. When the context of
// Queue.Run is cancelled, the queue makes one last attempt to flush, bounded
// by a short grace period, then stops and reports how many queued commands
// were not written; it starts no goroutine of its own.
package nagios
