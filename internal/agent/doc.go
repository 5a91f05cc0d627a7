// Package agent wires the agent's components together and runs their
// lifecycle. An Agent loads the config (New), then starts, sinks before
// sources (Start): the disk spool, the spooler that sends it to every
// target group, the externals manager that pulls the host's check list and
// registers it, and the poller that runs the checks into the spool. Reload
// applies a new config to the running parts: unchanged checks keep their
// schedule, and only the target groups that changed restart their senders.
// Stop ends them in the opposite order. Run does all of that for `picket
// run`, answering SIGHUP, renames from registration and externals changes,
// and reporting the agent's own health on its own services and, as UP
// with its version and uptime, on its host (once the server can know it),
// so Nagios' host freshness tells a dead agent. The central server's clock
// offset comes from every NSCA connection and every externals answer's
// Date header.
//
// With [metrics] listen set, it serves Prometheus metrics read on each
// scrape from the poller, the watcher, the spooler and the spool; a reload
// that changes the address moves the endpoint. An address that cannot be
// opened is logged and the agent runs on without metrics (a reload tries
// again): they are how people look in, never a reason to stop checking.
//
// In state_dir it owns the ledger of lost results (losses.json; `picket
// spool ack` writes losses.ack), and its externals manager keeps the
// last-known-good externals, the registration's answer and the agent's
// identity key there (identity.key, 0600: made at the first registration,
// it signs every request to the central server and never leaves the
// host); it opens the spool in spool_dir.
//
// When Run's context is cancelled, the metrics endpoint closes, the
// externals stop, the poller kills the plugins still running and stores
// their results ("check interrupted ...: agent stopping"), the senders get
// a few seconds to send what is left (the rest stays in the spool for the
// next start), and Run returns once every goroutine it started has ended.
package agent
