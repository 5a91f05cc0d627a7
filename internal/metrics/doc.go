// Package metrics exposes what a running agent or server already knows as
// Prometheus metrics, read on each scrape from snapshots the wiring hands
// it: no counter is threaded through the hot paths for Prometheus' sake.
//
// It is a leaf: it declares the snapshot it reads for the agent (Agent,
// Check, Group, ...; internal/agent fills them from the poller, the
// watcher, the spooler and the spool) and reads the server's from the nsca
// library's and the command file queue's own Stats. Each process gets a
// private registry (NewRegistry) with the Go and process collectors; the
// global default registry is never used.
//
// Start serves a registry on one address, /metrics only (every other path
// is 404), with read and write timeouts. Opening the address is Start's
// only failure (an address in use says so); the caller logs it and goes
// on, since metrics are how people look in, never a reason to stop
// checking or receiving.
//
// It owns nothing on disk. When Start's context is cancelled, or Stop is
// called, the listener closes, scrapes in flight get a few seconds to
// finish, and no goroutine it started is left.
package metrics
