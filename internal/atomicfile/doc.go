// Package atomicfile replaces a file in one step: the new content is
// written in full to a temporary file beside it, flushed to disk, and
// renamed over the old one, so a reader, or a process starting after a
// crash, sees either the old file or the new one, never a mix.
//
// It is shared by everything that persists small files (the registry and
// the agent's assignment, Nagios object files, externals, the installer's
// config and secrets), so they agree on durability and temp-file naming.
package atomicfile
