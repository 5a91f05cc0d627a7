package externals

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// staged is a file written in full under a temporary name beside its
// final one, waiting to be renamed over it.
type staged struct{ tmp, final string }

// stage writes data to a temp file in dir and flushes it to disk, so that
// the rename that publishes it can never expose a partial file.
func stage(dir, name string, data []byte, perm fs.FileMode) (staged, error) {
	f, err := os.CreateTemp(dir, tempPattern(name))
	if err != nil {
		return staged{}, err
	}
	tmp := f.Name()
	fail := func(err error) (staged, error) {
		f.Close()
		os.Remove(tmp)
		return staged{}, err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return staged{}, err
	}
	return staged{tmp, filepath.Join(dir, name)}, nil
}

// tempPattern hides temp files (leading dot) and ties them to one final
// name, so leftovers of a crash can be found and removed per file.
func tempPattern(name string) string { return "." + name + ".tmp-*" }

// removeStale deletes temp files a crash left behind for name.
func removeStale(dir, name string) {
	matches, _ := filepath.Glob(filepath.Join(dir, tempPattern(name)))
	for _, m := range matches {
		os.Remove(m)
	}
}

func discard(files []staged) {
	for _, s := range files {
		os.Remove(s.tmp)
	}
}

// publish renames staged files into place in order, then makes the
// renames durable. On failure the temp files not yet renamed are removed.
func publish(dir string, files []staged) error {
	for i, s := range files {
		if err := os.Rename(s.tmp, s.final); err != nil {
			discard(files[i:])
			return err
		}
	}
	return syncDir(dir)
}

// writeAtomic replaces dir/name with data in one step.
func writeAtomic(dir, name string, data []byte, perm fs.FileMode) error {
	s, err := stage(dir, name, data, perm)
	if err != nil {
		return err
	}
	return publish(dir, []staged{s})
}

// syncDir makes renames and creations in dir survive a power loss.
// Windows cannot open a directory for syncing, and NTFS journals renames.
func syncDir(dir string) error {
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
