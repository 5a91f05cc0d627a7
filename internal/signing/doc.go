// Package signing is picket's Ed25519 signatures, both of them:
//
//   - externals signatures, by which picket server vouches for a host's
//     check list: v2 covers the host, a serial that grows with every
//     version, the key the server is rotating to, and the file, so a file
//     signed for one host cannot be served to another and an older file
//     cannot replace a newer one (Signature, SignExternals). v1 (host and
//     file only) is still made for older agents and read by the agent's
//     own cache (SignV1, VerifyV1);
//   - request signatures, by which an agent proves on every registration
//     and pull that it holds the key its host name is bound to: method,
//     endpoint, host, time, a nonce and the body's SHA-256, in the
//     X-Picket-Auth header (Signer, ParseRequestAuth), with a ReplayCache
//     that accepts each signature once within MaxClockSkew.
//
// Keys are written "ed25519:<base64>" in configs, named by Fingerprint
// ("SHA256:<base64>") in logs and signature lines, and stored as PKCS#8
// PEM files readable by their owner only (WriteSigningKey,
// ReadSigningKey, LoadOrCreateKey for an agent's identity).
//
// It is a leaf shared by the agent's config, the externals puller, the
// registration client and picket server. It owns only the key files a
// caller asks it to write, and starts no goroutines.
package signing
