//go:build unix

package builtin

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// logStat describes name without opening it: on Unix stat(2) already
// carries the identity, so the every-second look at an unchanged log is
// one system call.
func (System) logStat(name string) (logMeta, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return logMeta{}, err
	}
	return unixMeta(fi), nil
}

// openLog opens name for reading. O_NONBLOCK keeps a FIFO that a glob
// happens to match from blocking the open; it is refused right after as
// not a regular file. Regular files ignore the flag.
func (System) openLog(name string) (logReader, logMeta, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, logMeta{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, logMeta{}, err
	}
	m := unixMeta(fi)
	if !m.Regular {
		f.Close()
		return nil, m, fmt.Errorf("%s: %w", name, errNotRegular)
	}
	return f, m, nil
}

// unixMeta reads the identity as (device, inode).
func unixMeta(fi fs.FileInfo) logMeta {
	m := logMeta{Size: fi.Size(), MTime: fi.ModTime().UnixNano(), Regular: fi.Mode().IsRegular()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		// Dev is an int32 on darwin, hence the conversions.
		m.ID = fileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
	}
	return m
}
