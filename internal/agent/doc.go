// Package agent wires the agent's components together and runs their
// lifecycle: it loads the config, starts the NSCA forwarder (the sink)
// before the poller (the source), applies a reloaded config to the running
// parts without a restart, and stops in the opposite order.
//
// It owns nothing on disk yet: until the spool lands, results wait in a
// bounded in-memory queue per target (see forwarder), so results still
// queued when the agent stops or dies are lost, and the agent logs how
// many. When Run's context is cancelled, the poller kills the plugins still
// running and hands their results on, the forwarder gets a few seconds to
// send what it holds, and Run returns once every goroutine it started has
// ended.
package agent
