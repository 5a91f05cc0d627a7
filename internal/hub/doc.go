// Package hub wires `picket server`, the central side, from whichever
// sections its config has: the NSCA receiver, whose valid packets become
// PROCESS_SERVICE_CHECK_RESULT and PROCESS_HOST_CHECK_RESULT lines in
// Nagios' external command file (with a connection cap per source address
// besides the global one); the HTTP side, which serves each host its
// signed externals only to the agent key the host is bound to (authorize)
// and registers agents under the profile rules, behind per-address and
// global rate limits and an optional cap on new hosts per hour; and the
// Nagios objects of registered hosts, written, validated and loaded with
// one reload for a burst of changes and at most one per
// min_reload_interval for a storm. Refused requests are logged a few in
// full per interval and the rest summed (refusalLog). With [metrics]
// listen set, it serves the NSCA receiver's and the command file queue's
// counters to Prometheus; an address that cannot be opened is logged and
// the rest runs on.
//
// It owns state_dir (registry.json, identities.json, token-uses.json, and
// control.sock: the local control channel `picket server status` asks, see
// ControlPath) and the Nagios object folder its config names; it writes the
// externals folder's files for the hosts it registers, and appends to the
// command file. Hosts, Forget and Rekey serve the administrator's commands
// while the server runs: identities.json is shared under a lock.
//
// When its context is cancelled it stops accepting NSCA, HTTP and control
// connections, gives the command-file queue a short grace period to write
// what it holds (logging how many results it could not deliver), flushes
// the registry, and returns once every goroutine it started has ended.
package hub
