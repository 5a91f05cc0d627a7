// Package config loads the agent's own TOML file (design.md section 5):
// schema, defaults, and strict validation that reports every problem at once,
// each with file, line and field. It also provides [Decode], the strict TOML
// reader the rest of picket uses for its files.
//
// It owns no files: it reads the config file and the secret files the config
// names, and never writes. It starts no goroutines.
package config
