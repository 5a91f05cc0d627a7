// Package nsca implements both ends of the NSCA 2.x wire protocol, as spoken
// by Nagios' send_nsca client and nsca daemon (version 2.10): the 132-byte
// init packet, v3 data packets (4304 bytes) and legacy 2.7 packets (720
// bytes), the CRC32 check, and libmcrypt's 8-bit CFB encryption for all 17
// methods Debian's nsca delivers (see [Method]). Eight of those ciphers have
// no maintained Go module to borrow: CAST-256, LOKI97, RC2, Rijndael with 192-
// and 256-bit blocks, Serpent, GOST and SAFER+ are written here from their
// specifications, each in its own file with the ways libmcrypt departs from
// the specification (byte order, GOST's S-boxes), pinned by packets captured
// from the real send_nsca (testdata/golden).
//
// It is a library anyone could use: it imports nothing else of picket. The
// client ([Dial], [Conn]) writes packets; the server ([Server]) accepts
// connections and hands each valid packet to a [Handler]; what happens to the
// packet next (a Nagios command file, a queue) is the caller's business.
// Two extensions only picket's ends speak, both announced by a marker in
// the server's IV (Server.CheckTimes) and invisible to nsca and send_nsca:
// check times (checktime.go) and the probe (probe.go), with which a client
// learns whether the server takes its password and cipher, where NSCA
// itself never answers.
//
// It owns nothing on disk. Every blocking call takes a context: cancelling a
// client's context aborts the current write and closes the connection (a
// half-written packet would block an nsca daemon in single mode); cancelling
// the context given to [Server.Serve] closes the listener and every open
// connection and returns once their goroutines have finished.
package nsca
