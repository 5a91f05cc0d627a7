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
// A command whose first word is picket:NAME runs the built-in check NAME
// (package builtin) by self re-exec: picket's own executable (Config.Self,
// or os.Executable resolved once) with "plugin", NAME and the rest of the
// words, under the same timeout, tree kill and output handling as any
// plugin. It needs no plugin folder, being picket's own code; an unknown
// NAME is UNKNOWN without starting anything. Shell checks do not know the
// form: the shell would look for a program named picket:NAME.
//
// Each run gets its own process group on Unix and its own job object on
// Windows; a timeout sends SIGTERM to the group, then after the kill grace
// kills everything of the run. When Run returns, nothing the plugin started
// is left alive, and the plugin itself has been reaped. A process that
// leaves the group on purpose (setsid, as a daemon does) cannot hold a run
// open either: the plugin's output pipes are given up at the timeout (plus
// the kill grace, if the plugin itself had to be stopped).
//
// On Linux such a process is killed too. Each run gets a cgroup v2 of its
// own, picket-run-ID below the agent's own cgroup, into which the plugin is
// cloned (CLONE_INTO_CGROUP), so nothing it starts is ever outside; the
// whole cgroup is killed (cgroup.kill) and removed when the run ends. The
// agent may make such cgroups when it runs as root or its cgroup is
// delegated to it (the packaged systemd unit sets Delegate=yes); the first
// run probes whether it can. Where it cannot, or Config.NoCgroup says so,
// the agent makes itself a child subreaper (that fallback only), so what
// plugins leave behind is reparented to the agent instead of init, and
// every run's processes carry PICKET_RUN=ID in their environment. At the
// end of each run a sweep of /proc kills what belongs to it: its process
// group, what carries its marker, their descendants, and orphaned children
// of the agent that no other run still going can have started (a process
// that wiped its environment and lost its parent is known by this alone,
// so while runs overlap it lives until the last run that could own it
// ends). Sweeps reap the agent's orphaned children, but never a plugin an
// exec.Cmd waits for, nor a child in the agent's own process group: in a
// process using the fallback, any other child must stay in that group, or
// a sweep takes it for a plugin's orphan. Runner.Containment says which
// containment is in use. A
// process that moves itself to another cgroup (root only) or joins the
// agent's process group escapes; outside Linux and Windows, so does any
// process that leaves the group.
//
// Output is decoded to valid UTF-8 before it is parsed: a byte-order mark
// or UTF-16's NUL bytes say what it is, valid UTF-8 is kept, and anything
// else is read in the Windows console, OEM or ANSI code page that reads as
// the most letters (on Unix, invalid bytes become U+FFFD).
//
// The package owns nothing on disk but the runs' cgroups, each removed
// when its run ends (one whose processes could not be killed, stuck in the
// kernel, stays); it reads the plugin folders and /proc.
//
// When the context passed to Run is cancelled (the agent is stopping), the
// running plugin's tree is stopped as on a timeout (SIGTERM, then SIGKILL
// after the kill grace) and the result is UNKNOWN "check interrupted after
// 1.2s: <cause>". The run's own timeout is a separate deadline derived from
// that context, so the two are always told apart.
package plugins
