// Package builtin holds picket's built-in checks: native versions of the
// monitoring plugins a host needs most (cpu, load, memory, swap, disk,
// procs, service, file_age, file_size, uptime, and eventlog on Windows), so
// a Windows host without monitoring-plugins, or any host, can run them
// with Nagios plugin semantics.
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
// small JSON file per eventlog check holding its read position, replaced
// in one step. No other check keeps state between runs; cpu's averaging
// window lies within one run.
//
// It starts no goroutines. When the context passed to Run ends, a check
// waiting (cpu's window) or walking a long list (processes, events)
// returns UNKNOWN saying so; systemctl, the one program a check starts, is
// killed with the context.
package builtin
