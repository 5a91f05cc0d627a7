// Package secretfile reads the agent's secret files (NSCA passwords,
// registration tokens, signing keys) and refuses one that others on the host
// can read: on Unix by its mode bits, on Windows by its DACL (anyone but
// SYSTEM, Administrators and the file's owner allowed to read it). It owns
// no files; it only reads the ones it is given, and never blocks beyond one
// file read.
package secretfile
