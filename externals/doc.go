// Package externals gets a host's check list ("externals") from the central
// server to the agent, and refuses anything it cannot trust. It owns the
// externals file format (TOML, parsed strictly with file:line errors), the
// agent's puller (conditional GET over HTTPS, signature check, validation,
// atomic swap into a last-known-good cache) and the server's file handler.
//
// # Format
//
// One TOML file per host, <host>.toml: optional host_address, [defaults],
// [macros] and [[check]] tables with the same fields as the agent's own
// config. Unknown keys are errors. See Parse.
//
// # On disk
//
// The puller owns Options.CacheDir: for each host, <host>.toml (the last
// file that was valid and, with a public key, correctly signed),
// <host>.toml.sig (its signature) and <host>.meta.json (where and when it
// was fetched, its ETag, Last-Modified and SHA-256). Files are 0600 because
// [macros] may hold passwords. Each file is replaced by temp file, fsync,
// rename and directory fsync, and only after the new candidate passed
// every check, so a bad fetch never changes a byte of the cache. A crash
// between two of a set's renames leaves a set whose SHA-256 or signature
// does not match; LastKnownGood reports it as an error, never as a wrong
// snapshot, and the next successful fetch replaces it.
//
// The server side (Handler) owns nothing but reads Handler.Dir, holding
// <host>.toml and <host>.toml.sig; with a signing key it rewrites a
// <host>.toml.sig that is missing or does not match its .toml. WriteFile
// writes both atomically. Keys and signatures are internal/signing's.
//
// # Cancellation
//
// Fetch runs under its context, bounded further by Options.Timeout for
// all attempts together. When the context ends, the request in flight is
// abandoned, no retry is started, and Fetch returns Unreachable with an
// error for which errors.Is(err, context.Canceled) (or DeadlineExceeded)
// holds; the cache is left as it was. Nothing in this package starts a
// goroutine that outlives the call that started it.
//
// # Signatures
//
// A file may be signed with Ed25519 (the scheme is internal/signing's;
// this package carries the signatures). The signed message is not the file
// alone but
//
//	"picket-externals-v1" NUL <host> NUL <file content>
//
// so that a file signed for one host cannot be served to another (which
// would run its checks, with their macros, under the wrong name). The
// signature file <host>.toml.sig holds the 64-byte signature in standard
// base64 followed by a newline; the same text (without the newline) may
// come in the X-Picket-Signature response header instead, which keeps a
// file and its signature in one response. Public keys are written
// "ed25519:" followed by the 32-byte key in standard base64.
//
// An administrator signing by hand with OpenSSL 3, with a key made by
// signing.WriteSigningKey (`picket server keygen`) or by `openssl genpkey -algorithm ed25519 -out
// externals.key`:
//
//	{ printf 'picket-externals-v1\0%s\0' web01; cat web01.toml; } > msg
//	openssl pkeyutl -sign -rawin -inkey externals.key -in msg | base64 -w0 > web01.toml.sig
//	echo >> web01.toml.sig
//
// and the public key for the agents' config:
//
//	echo "ed25519:$(openssl pkey -in externals.key -pubout -outform DER | tail -c 32 | base64)"
package externals
