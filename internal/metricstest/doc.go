// Package metricstest reads a running picket's /metrics for tests: it
// scrapes the text exposition over HTTP and finds one series' value, and
// waits, polling, for a series to reach a value. It is imported only by
// tests; no production code may use it.
//
// It owns nothing on disk and starts no goroutines; a wait ends at its
// deadline or when the test's context ends.
package metricstest
