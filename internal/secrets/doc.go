// Package secrets is the agent's local secrets file: values a check's
// command refers to as $SECRET:name$, which stay on the host. Only the
// agent's user may read the file; the externals a server sends can refer to
// a secret by name, never carry or learn its value.
//
// The file is TOML, one `name = "value"` per secret. Set redacts every
// value from any text (plugin output, perfdata, error messages) before it
// leaves the runner, so a plugin that prints a password does not put it in
// the spool, the logs or Nagios.
//
// It reads the file it is given and writes it only through Save (in one
// step, readable by its owner only). It starts no goroutines.
package secrets
