// Package control is the local control channel of a running picket agent
// or server: `picket status` and `picket run-now` talk to it. It is HTTP
// with JSON over a Unix socket (mode 0600, in a folder only its owner may
// enter) on Unix and over a named pipe whose ACL admits only SYSTEM,
// Administrators and the owner on Windows; no network port. On Unix a
// connection from another user is refused even where the file system
// would let it through, by the peer's credentials.
//
// The package owns the socket file it listens on: it removes a stale one
// left by a crashed process before listening, and removes it again when
// Serve returns. Serve stops when its context is cancelled, closing the
// listener and waiting for requests in flight, a few seconds at most.
package control
