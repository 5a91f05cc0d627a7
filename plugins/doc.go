// Package plugins runs one check once and turns whatever the plugin does
// (answers, hangs, crashes, floods its output, leaves children behind) into a
// check.Result. Run never returns an error: a plugin that cannot even be
// started is an UNKNOWN result that says what was searched.
//
// A command line is split with POSIX shell quoting on Unix and with
// Windows' own rules (CommandLineToArgvW: a backslash is literal unless it
// precedes a double quote) on Windows; its macros ($USER1$, $HOSTNAME$,
// ...) are expanded per argument, and its plugin is looked up in
// the configured plugin folders at every run, never in $PATH. Checks with
// Shell set are handed to /bin/sh -c (cmd.exe /C on Windows) with the plugin
// folders first in PATH; the rule that plugins must live in a plugin folder
// cannot be enforced for them, since the shell decides what it runs.
//
// Each run gets its own process group on Unix and its own job object on
// Windows, so a timeout kills the plugin and everything it started. When Run
// returns, nothing of the plugin's process group (or job) is left alive, and
// the plugin itself has been reaped. A process that leaves the group on
// purpose (setsid, as a daemon does) is out of reach on Unix, but it cannot
// hold a run open: the plugin's output pipes are given up at the timeout
// (plus the kill grace, if the plugin itself had to be stopped).
//
// Output is decoded to valid UTF-8 before it is parsed: a byte-order mark
// or UTF-16's NUL bytes say what it is, valid UTF-8 is kept, and anything
// else is read in the Windows console, OEM or ANSI code page that reads as
// the most letters (on Unix, invalid bytes become U+FFFD).
//
// The package owns nothing on disk; it only reads the plugin folders.
//
// When the context passed to Run is cancelled (the agent is stopping), the
// running plugin's tree is stopped as on a timeout (SIGTERM, then SIGKILL
// after the kill grace) and the result is UNKNOWN "check interrupted after
// 1.2s: <cause>". The run's own timeout is a separate deadline derived from
// that context, so the two are always told apart.
package plugins
