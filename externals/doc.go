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
// <host>.toml and <host>.toml.sig; with signing keys it rewrites a
// <host>.toml.sig that is missing or is not the current key's v2
// signature of its .toml. WriteFile writes both atomically. Keys and
// signatures are internal/signing's. Which client may read which host's
// file is decided before the Handler, by picket server.
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
//	"picket-externals-v2" NUL <host> NUL <serial> NUL <next> NUL <file content>
//
// so that a file signed for one host cannot be served to another (which
// would run its checks, with their macros, under the wrong name), and an
// older file cannot replace a newer one: the serial grows with every
// version the server signs for a host (nanoseconds of its clock, or one
// more than the last when the clock is behind), and the puller keeps the
// highest serial it accepted per host (Meta.Serial, with the
// last-known-good) and refuses a different file with a serial no higher.
// next is the fingerprint of the key the server is rotating to, or empty.
//
// The signature file <host>.toml.sig holds one line,
//
//	v2 serial=<n> key=<fingerprint> [next=<fingerprint>] sig=<base64>
//
// and the same text may come in the X-Picket-Signature response header
// instead, which keeps a file and its signature in one response. Public
// keys are written "ed25519:" followed by the 32-byte key in standard
// base64; fingerprints "SHA256:" and the unpadded base64 of its SHA-256.
//
// The puller sends the fingerprints of the keys it trusts in
// X-Picket-Keys. The Handler, with Keys.Next set, signs with Next for an
// agent that trusts it and announces Next to the others, so rotating the
// server's key needs each agent's config touched once. A request without
// X-Picket-Keys comes from an agent older than v2 and gets the v1
// signature it can check ("picket-externals-v1" NUL host NUL file, no
// serial). The puller refuses v1 from the network; it accepts a v1
// signature only in its own cache, which it wrote after checking the file
// when it came, so no older file can be slipped in there.
//
// An administrator signing by hand with OpenSSL 3, with a key made by
// signing.WriteSigningKey (`picket server keygen`) or by `openssl genpkey
// -algorithm ed25519 -out externals.key`, a serial higher than the last:
//
//	serial=$(date +%s%N)
//	{ printf 'picket-externals-v2\0%s\0%s\0\0' web01 "$serial"; cat web01.toml; } > msg
//	sig=$(openssl pkeyutl -sign -rawin -inkey externals.key -in msg | base64 -w0)
//	echo "v2 serial=$serial sig=$sig" > web01.toml.sig
//
// and the public key for the agents' config:
//
//	echo "ed25519:$(openssl pkey -in externals.key -pubout -outform DER | tail -c 32 | base64)"
package externals
