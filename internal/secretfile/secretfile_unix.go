//go:build !windows

package secretfile

import (
	"fmt"
	"os"
)

// Check refuses a secret file every user on the host can read.
func Check(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o004 != 0 {
		return fmt.Errorf("%s is readable by every user (mode %04o): chmod o-r it", path, st.Mode().Perm())
	}
	return nil
}
