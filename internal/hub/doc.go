// Package hub wires `picket server`, the central side, from whichever
// sections its config has: the NSCA receiver, whose valid packets become
// PROCESS_SERVICE_CHECK_RESULT and PROCESS_HOST_CHECK_RESULT lines in
// Nagios' external command file; the HTTP side, which serves each host its
// signed externals and registers new agents under the profile rules; and
// the Nagios objects of registered hosts, written, validated and loaded
// with one reload for a burst of changes. With [metrics] listen set, it
// serves the NSCA receiver's and the command file queue's counters to
// Prometheus; an address that cannot be opened is logged and the rest
// runs on.
//
// It owns state_dir (the registry of agents) and the Nagios object folder
// its config names; it writes the externals folder's files for the hosts
// it registers, and appends to the command file.
//
// When its context is cancelled it stops accepting NSCA and HTTP
// connections, gives the command-file queue a short grace period to write
// what it holds (logging how many results it could not deliver), flushes
// the registry, and returns once every goroutine it started has ended.
package hub
