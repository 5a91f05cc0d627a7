//go:build (!unix && !windows) || aix

package autoreg

import "os"

// tryLock has no lock to take where the system offers none this package
// knows; picket server runs on Linux and Windows.
func tryLock(*os.File) error { return nil }
