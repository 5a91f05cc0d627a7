// Package icingatest starts a private, real Icinga 2 (Debian's icinga2
// package) for tests: on 127.0.0.1 on a free port, with its own CA made by
// `icinga2 pki`, an API user with a password and one with a client
// certificate, passive host and service templates, optional objects given
// as Icinga 2 configuration, and a debug log to read what Icinga did with
// each result. It is imported only by tests; no production code may use it.
//
// It owns one temporary directory per [Instance] (configuration, data with
// the CA and certificates, logs, run directory); [Instance.Close] removes
// it. The daemon is stopped by the pid it wrote to its own run directory
// (SIGTERM, then SIGKILL of its process group after a grace period), never
// by name. A missing icinga2 binary is [ErrNotInstalled], whose message
// names the Debian package.
//
// Blocking calls take a context: cancelling it abandons the wait for the
// API (the daemon started so far is stopped) or a query in flight.
package icingatest
