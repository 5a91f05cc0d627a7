package setup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// journal records what one run of Write changed on disk, so the run can be
// taken back whole. Secrets are small files: their old contents are kept
// in memory, never copied to another file.
type journal struct {
	steps []undoStep
}

type undoStep struct {
	path    string
	dir     bool   // a folder this run created
	existed bool   // the file was there before; old holds its contents
	old     []byte //
}

// makeDir creates dir (and restricts it) unless it exists.
func (j *journal) makeDir(dir string) error {
	_, err := os.Stat(dir)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if !existed {
		// Parents are left out of the journal: ProgramData or /etc exist.
		j.steps = append(j.steps, undoStep{path: dir, dir: true})
	}
	return makePrivateDir(dir)
}

// write replaces path with data, through a private file.
func (j *journal) write(path string, data []byte) error {
	old, err := os.ReadFile(path)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read what is there before replacing it: %w", err)
	}
	if err := writePrivate(path, data); err != nil {
		return err
	}
	j.steps = append(j.steps, undoStep{path: path, existed: existed, old: old})
	return nil
}

// undo takes the steps back, last first, and reports every one that
// failed; the journal is empty afterwards.
func (j *journal) undo() error {
	var errs []error
	for i := len(j.steps) - 1; i >= 0; i-- {
		st := j.steps[i]
		var err error
		switch {
		case st.dir:
			err = os.Remove(st.path) // only if empty: never someone's files
		case st.existed:
			err = writePrivate(st.path, st.old)
		default:
			err = os.Remove(st.path)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("undo %s: %w", st.path, err))
		}
	}
	j.steps = nil
	return errors.Join(errs...)
}
