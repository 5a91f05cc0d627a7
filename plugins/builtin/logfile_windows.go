package builtin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// openLog opens name with every share mode, FILE_SHARE_DELETE included,
// so the application writing the log can rename or delete it while picket
// reads (os.Open leaves that out, which would make rotation fail). The
// identity is the volume serial number and the 64-bit file index of
// GetFileInformationByHandle; on ReFS, whose ids are 128 bits, the
// fingerprint decides where the index alone could be ambiguous.
func (System) openLog(name string) (logReader, logMeta, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, logMeta{}, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	share := uint32(windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE)
	// BACKUP_SEMANTICS lets a folder that a glob matched open too, so it
	// is refused as not a regular file rather than as access denied.
	h, err := windows.CreateFile(p, windows.GENERIC_READ, share, nil, windows.OPEN_EXISTING,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, logMeta{}, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		windows.CloseHandle(h)
		return nil, logMeta{}, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	m := logMeta{
		ID:      fileID{Dev: uint64(info.VolumeSerialNumber), Ino: uint64(info.FileIndexHigh)<<32 | uint64(info.FileIndexLow)},
		Size:    int64(info.FileSizeHigh)<<32 | int64(info.FileSizeLow),
		MTime:   info.LastWriteTime.Nanoseconds(),
		Regular: info.FileAttributes&(windows.FILE_ATTRIBUTE_DIRECTORY|windows.FILE_ATTRIBUTE_DEVICE) == 0,
	}
	if !m.Regular {
		windows.CloseHandle(h)
		return nil, m, fmt.Errorf("%s: %w", name, errNotRegular)
	}
	return os.NewFile(uintptr(h), name), m, nil
}

// logStat opens and closes the file: the file index comes only from a
// handle, and a directory listing's size can lag behind a file another
// process holds open.
func (s System) logStat(name string) (logMeta, error) {
	f, m, err := s.openLog(name)
	if errors.Is(err, errNotRegular) {
		return m, nil // the caller looks at Regular
	}
	if err != nil {
		return logMeta{}, err
	}
	f.Close()
	return m, nil
}
