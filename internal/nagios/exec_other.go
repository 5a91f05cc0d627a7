//go:build !unix

package nagios

import "os/exec"

// setProcessGroup leaves exec's default, killing the process itself on
// cancellation: process groups are a unix notion, and Nagios runs on unix.
func setProcessGroup(*exec.Cmd) {}
