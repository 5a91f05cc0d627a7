// Package check holds the leaf types every picket component shares: the
// check states of the Nagios plugin API, check results, performance data
// with its parser and renderer, and the versioned binary encoding of a
// result that the spool stores.
//
// It imports nothing of picket's, so the poller, the plugin runner, the
// spooler and the server side can all speak in these types without depending
// on each other. It owns nothing on disk, and it starts no goroutines, so
// there is nothing to cancel: every function returns when its work is done.
package check
