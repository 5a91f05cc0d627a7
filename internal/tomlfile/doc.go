// Package tomlfile reads picket's TOML files strictly: a syntax error, a
// value of the wrong type and a key the schema does not know are all
// problems that name the file, the line and the dotted field. It also holds
// the value types those files share (Duration, Size) and Problems, the
// collector each file's validation uses to report every problem in one
// pass, each on its line.
//
// It is a leaf: it imports nothing of picket. It owns no files and starts
// no goroutines; callers read the bytes and hand them in.
package tomlfile
