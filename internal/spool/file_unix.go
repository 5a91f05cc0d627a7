//go:build unix

package spool

import "os"

func openRead(path string) (*os.File, error) { return os.Open(path) }

// syncDir makes a created, renamed or removed name durable: on Linux the
// file's own fsync does not cover its directory entry.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
