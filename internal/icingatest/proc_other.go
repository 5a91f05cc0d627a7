//go:build !unix

package icingatest

import (
	"errors"
	"os/exec"
)

// icinga2 is a Unix daemon here: Debian's package is what these tests run.

func ownProcessGroup(*exec.Cmd) {}

func terminate(int) error { return errors.New("icingatest: needs a Unix system") }

func killGroup(int) {}
