package nsca

import "time"

// The check-time extension. NSCA's timestamp field carries the server's
// clock at connect, echoed by the client, so a result reaches Nagios under
// the time it arrived, however long ago it was checked. A picket server
// offers to take the real check time instead: its init packet's IV ends in
// checkTimeMarker (the IV travels in clear, and no cipher reads that far
// into it but XOR, whose pad the clear IV already gives away). A client
// that sees the marker may send, in a packet's timestamp, when the result
// was checked (in the server's clock, so skew does not move it) and says so
// with checkTimeFlag in the two padding bytes after the version, which nsca
// never reads. A plain nsca daemon sends no marker and gets what it always
// got; a packet without the flag is judged as nsca judges it.
var checkTimeMarker = [8]byte{'p', 'i', 'c', 'k', 'e', 't', 'C', 'T'}

const (
	offPad        = 2
	checkTimeFlag = 0x4354 // "CT"
	// maxAhead is how far in the future a check time may be, by the
	// server's clock, before it is taken for a wrong one: the client
	// converts to the server's clock, so only a clock that jumped while a
	// connection was open gets near it.
	maxAhead = 5 * time.Minute
)

func markIV(iv []byte) { copy(iv[IVSize-len(checkTimeMarker):IVSize], checkTimeMarker[:]) }

func ivMarked(iv []byte) bool {
	return string(iv[IVSize-len(checkTimeMarker):IVSize]) == string(checkTimeMarker[:])
}
