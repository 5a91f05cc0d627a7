// Package poller decides when each check runs, and runs it: a next-run
// heap owned by one goroutine, woken by a timer or by a new check list,
// with a deterministic phase per interval check, cron schedules with time
// zones and sane DST behaviour, Nagios-style retries of soft non-OK
// states, a limit on concurrent plugins, skip-if-still-running, and hot
// application of a new check list that leaves unchanged checks alone.
//
// Running a plugin and storing a result are not its business: it declares
// a Runner and a Sink, which the agent wires to the plugin runner and the
// spool. Time comes from an injected Clock, so tests never sleep.
//
// It owns nothing on disk.
//
// When Run's context is cancelled the poller starts nothing new; the
// plugins still running see the same cancelled context, so the Runner
// kills them and returns their results; each result is still handed to
// the Sink under a fresh context bounded by Options.SinkTimeout; then Run
// returns the context's error, and no goroutine it started is left.
package poller
