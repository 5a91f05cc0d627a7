//go:build unix

package agent

import (
	"errors"
	"syscall"
)

// diskFull reports whether err says the disk (or the user's quota) has no
// room left.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
