//go:build unix && !linux && !darwin

package autoreg

import "golang.org/x/sys/unix"

// osVersion is the kernel's name and release, e.g. "FreeBSD 14.0-RELEASE":
// the BSDs have no single file naming the distribution.
func osVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
}
