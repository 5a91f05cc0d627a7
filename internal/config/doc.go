// Package config loads the agent's own TOML file (design.md section 5):
// its schema, the defaults the file may leave out, and validation that
// reports every problem at once, each with file, line and field. The file's
// [[check]] list is internal/checkspec's, read with internal/tomlfile's
// strict reader, as every other picket file is.
//
// It is a leaf: it imports only leaf packages (check, checkspec, logs,
// signing, tomlfile, and the nsca library for cipher names), never
// the components that act on the config, so that whatever reads a config
// does not drag the whole agent in.
//
// It owns no files: it reads the config file and the secret files the config
// names, and never writes. It starts no goroutines.
package config
