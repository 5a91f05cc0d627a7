//go:build !linux

package spool

import "os"

// datasync is a full sync outside Linux; on macOS os.File.Sync issues
// F_FULLFSYNC, which is what makes it reach the disk there.
func datasync(f *os.File) error { return f.Sync() }
