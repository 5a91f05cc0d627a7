// Package logs builds the structured logger a long-running picket process
// writes through: one level for everything plus a level per component (the
// "component" attribute the agent's parts log under), text or JSON, to
// stderr (the journal under systemd), to a size-rotated file, or to an
// event sink such as the Windows Event Log when running as a service.
//
// Levels can change while the process runs (a config reload), without a
// new logger: the handlers consult the shared levels on every record.
package logs
