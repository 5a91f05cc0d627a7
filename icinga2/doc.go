// Package icinga2 sends passive check results to Icinga 2 through its REST
// API and creates the hosts and services they are for. It is a library
// anyone could use: it imports nothing else of picket.
//
// A [Client] speaks HTTPS (TLS 1.2 or newer, verified against a CA file or
// pool, with a server name when the certificate's name differs from the
// URL's host) over keep-alive connections, at most Config.MaxConcurrency
// requests at a time; it authenticates as an ApiUser by password or by
// client certificate.
//
//   - [Client.ProcessCheckResult] posts one result to
//     /v1/actions/process-check-result, addressed as "host!service" (or
//     "host"), with the real execution start and end and a ttl.
//   - [Client.SendBatch] posts many: results for different objects run
//     concurrently, those of one object one after another in the order
//     given. It returns one outcome per result; [Acknowledged] is the
//     prefix a caller may advance a cursor over.
//   - [Client.PutHost] and [Client.PutService] create objects at runtime
//     (PUT /v1/objects/...); one that already exists is not an error.
//
// A Client never sends a result whose execution start is older than one it
// has delivered for the same object (ErrOutdated instead): Icinga 2.13
// would answer 200 and silently keep the newer one. It remembers, in
// memory, the latest execution start delivered per object.
//
// Every reply is parsed: a result counts as delivered only on Icinga's 200
// for it, inside the JSON reply as well as on the HTTP status line. Failures
// are [*ReplyError] values (or TLS and network errors) that match, with
// errors.Is, one of ErrUnauthorized (401), ErrUnknownObject (404),
// ErrBadRequest (400 and other refusals), ErrServer (5xx), ErrUnreachable
// (Icinga's 200 "Ignoring passive check result for unreachable object",
// given when every dependency of the object with disable_checks has
// failed), ErrOutdated, ErrTLS (with ErrUntrustedCertificate and
// ErrCertificateName) or ErrUnavailable. [Retryable] and [Kind] classify
// them.
//
// Host results: Icinga accepts only exit status 0 (UP) and 1 (DOWN) for a
// host, so a plugin's OK (0) and WARNING (1) are sent as UP and CRITICAL (2)
// and UNKNOWN (3), or anything else, as DOWN, as Nagios does without
// aggressive host checking. A service's status outside 0..3 is sent as 3
// (UNKNOWN), as Icinga would map it.
//
// The package owns nothing on disk (it reads the certificate files it is
// given, once, in [New]). Its tests start Debian's icinga2 through
// internal/icingatest. Every call takes a context: cancelling it aborts
// the request in flight or the wait for a free slot; SendBatch then sends
// nothing more and returns once its goroutines have finished.
package icinga2
