// Package checkspec is the [[check]] list as people write it, in the
// agent's own file and in externals files alike: the schema of one check,
// the [defaults] and [macros] tables, the built-in defaults, and the
// resolution of a list into the check.Check values the poller runs, with
// every problem placed on its line.
//
// It is a leaf shared by the agent's config, the externals format and
// picket server, so that a check means the same thing wherever it is
// written. It owns no files and starts no goroutines.
package checkspec
