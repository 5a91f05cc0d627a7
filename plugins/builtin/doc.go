// Package builtin holds picket's built-in checks: native versions of the
// monitoring plugins a host needs most (cpu, load, memory, swap, disk,
// procs, service, file_age, file_size, uptime, logfile, and eventlog on
// Windows), so a Windows host without monitoring-plugins, or any host, can
// run them with Nagios plugin semantics.
//
// Each check is a Builtin in the registry (All, Lookup) with a one-line
// summary, a usage text and a constructor. New parses the arguments once,
// with the flags of the monitoring-plugins check of the same name where
// there is one (check_disk, check_load, check_procs, check_swap,
// check_file_age), into a Check; Check.Run evaluates it against an OS and
// returns a check.Result (state, output, long output, perfdata). The same
// Check serves `picket plugin NAME` (one run per process, by self
// re-exec), a watch evaluating it in-process every second, and table tests
// against a fake OS. Thresholds use the Nagios range syntax (range.go),
// with percentages and units where a person would write them (units.go).
//
// System is the real OS: gopsutil v4 where it fits, /proc on Linux for
// processes, systemctl for systemd units, the Service Control Manager and
// the classic event log API on Windows.
//
// On disk it owns only the state folder given to System (StateDirEnv,
// PICKET_STATE_DIR, which `picket plugin` reads; the agent sets it): one
// small JSON file per eventlog or logfile check holding its read
// positions, replaced in one step. No other check keeps state between
// runs; cpu's averaging window lies within one run.
//
// logfile (logfile*.go) follows files by identity ((device, inode), or
// Windows' volume serial and file index, plus hashes of the first 4 KiB
// and of the 256 bytes before the read position) and keeps its positions
// in its Check as well, so a watch's every-second Run over an unchanged
// log is one stat per file, with nothing opened or written. Run saves the
// new positions after the result is computed and before it returns; what
// it does not save it has not consumed. That gives, precisely:
//   - every line is counted in exactly one result when runs end normally,
//     across agent restarts, and when a run fails, is cancelled or is
//     killed while reading (its lines are read again by the next run);
//   - a kill between the save and the spool's write of the result loses
//     that result's counts (at most once in that window, which the agent
//     keeps short by spooling right after Run returns); saving after the
//     spool instead would need a commit call from the agent and would
//     count those lines twice instead;
//   - a power loss just after a save can bring the previous positions
//     back (the folder is not synced after the rename): lines counted
//     again;
//   - lost by the rotation itself, and said in the long output when
//     noticed: what a file gained after the last run when it was
//     rotated to a compressed or deleted name, and for copytruncate the
//     lines written between the copy and the truncation, plus everything
//     a copy holds when the file was empty at the last run (no bytes to
//     recognise the copy by);
//   - one Check per state name at a time: two (an agent and a hand run
//     with its state folder) count the same lines twice.
//
// It starts no goroutines. When the context passed to Run ends, a check
// waiting (cpu's window) or walking a long list (processes, events, log
// lines) returns UNKNOWN saying so, logfile without moving its
// positions; systemctl, the one program a check starts, is killed with the
// context.
package builtin
