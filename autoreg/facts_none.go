//go:build !unix && !windows

package autoreg

// osVersion has nothing to read on this platform.
func osVersion() string { return "" }
