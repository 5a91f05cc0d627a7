// Package signing is the externals signature scheme: Ed25519 keys, their
// text form in the agent's config ("ed25519:<base64>") and their PEM file
// on the server, and signatures that bind a file's bytes to the host it is
// for, so a file signed for one host cannot be replayed to another.
//
// It is a leaf shared by the agent's config (which checks a configured key
// is well formed), the externals puller (which verifies) and picket server
// (which signs). It owns only the key file a caller asks it to write, and
// starts no goroutines.
package signing
