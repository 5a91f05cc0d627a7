package setup

import "os"

// Private restricts f, a new empty file, to its owner (on Windows, to
// SYSTEM and Administrators) before anything is written to it. It is an
// atomicfile Prepare hook for every secret picket writes.
func Private(f *os.File) error { return restrict(f) }
