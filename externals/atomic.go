package externals

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/picket-monitoring/picket/internal/atomicfile"
)

// staged is a file written in full under a temporary name beside its
// final one, waiting to be renamed over it.
type staged struct{ tmp, final string }

// stage writes data to a temp file in dir and flushes it to disk, so that
// the rename that publishes it can never expose a partial file.
func stage(dir, name string, data []byte, perm fs.FileMode) (staged, error) {
	f, err := os.CreateTemp(dir, atomicfile.TempPattern(name))
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

// removeStale deletes temp files a crash left behind for name (temp files
// are hidden and tied to one final name: atomicfile.TempPattern).
func removeStale(dir, name string) {
	matches, _ := filepath.Glob(filepath.Join(dir, atomicfile.TempPattern(name)))
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
	return atomicfile.SyncDir(dir)
}

// writeAtomic replaces dir/name with data in one step.
func writeAtomic(dir, name string, data []byte, perm fs.FileMode) error {
	return atomicfile.Write(filepath.Join(dir, name), data, atomicfile.Options{Perm: perm})
}
