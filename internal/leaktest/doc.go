// Package leaktest finds what a package's tests left behind, for the
// TestMain of packages that start goroutines or run an agent or server:
// goroutines still running ("no goroutine outlives its owner", Find), and
// the host's own picket folders created by a test that forgot its
// state_dir (Untouched). It is imported by tests only, owns nothing on disk
// and starts nothing.
package leaktest
