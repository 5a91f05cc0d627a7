package autoreg

import (
	"fmt"

	"github.com/picket-monitoring/picket/internal/atomicfile"
)

// saveFile replaces path with data in one step (registry, assignments,
// the agent's registration answer); the files are not secret.
func saveFile(path string, data []byte) error {
	if err := atomicfile.Write(path, data, atomicfile.Options{Perm: 0o644}); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
