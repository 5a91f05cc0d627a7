package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Options say how the new file is made.
type Options struct {
	// Perm is the file's mode. CreateTemp makes 0600; Windows has no such
	// bits, so there it is left to Prepare.
	Perm fs.FileMode
	// TempPattern names the temporary file (os.CreateTemp's pattern), so
	// a caller can find and remove what a crash left behind. Default:
	// ".<name>.tmp-*".
	TempPattern string
	// Prepare, when set, runs on the empty temporary file before anything
	// is written to it: a secret's access rules are in place before the
	// secret is.
	Prepare func(f *os.File) error
}

// TempPattern is the default temporary-file pattern for name.
func TempPattern(name string) string { return "." + name + ".tmp-*" }

// Write replaces path with data.
func Write(path string, data []byte, o Options) (err error) {
	dir := filepath.Dir(path)
	pattern := o.TempPattern
	if pattern == "" {
		pattern = TempPattern(filepath.Base(path))
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if o.Prepare != nil {
		if err = o.Prepare(f); err != nil {
			return err
		}
	}
	if err = f.Chmod(o.Perm); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes renames and creations in dir survive a power loss.
// Windows cannot open a directory for syncing, and NTFS journals renames.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
