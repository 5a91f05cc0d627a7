//go:build !unix

package nagios

import "os/exec"

// setProcessGroup leaves exec's default, killing the process itself on
// cancellation: process groups are a unix notion, and Nagios runs on unix.
func setProcessGroup(*exec.Cmd) {}

// syncDir does nothing: directories cannot be opened for fsync here.
func syncDir(string) error { return nil }
