package spool

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// datasync skips the inode's timestamps, which nothing reads back; the
// file size, which recovery needs, is still flushed.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
