package nsca

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"time"
)

// The probe. NSCA never answers, so a client cannot tell whether the server
// took its password and cipher: a wrong one is dropped in silence. A picket
// server (one that marks its IV, see checktime.go) can tell it. A client
// that saw the marker may send one probe packet: an ordinary v3 packet
// (on a legacy connection too) with probeFlag in the padding after the version, host probeHost,
// no service, return code 0, and a fresh random nonce in hex as its output.
// A server that decrypts it with a valid CRC answers probeOK and the
// nonce's CRC32, and does not hand the packet to its Handler; the
// connection carries on. A server with another password or cipher sees a
// bad CRC and closes the connection, as it does for any bad packet, so the
// client reads the end of the stream instead of the answer.
//
// A plain nsca daemon sends no marker, and a client must not probe it: it
// would hand the probe to Nagios as a result for host probeHost. For the
// same reason a packet is a probe only when every part of it says so: a
// send_nsca packet whose random padding happens to equal probeFlag is still
// a result unless its host, service, return code and output have the
// probe's exact form too.
const (
	probeFlag       = 0x5052 // "PR"
	probeHost       = "picket-probe"
	probeNonceBytes = 16
	probeAnswerSize = 8
)

var probeOK = [4]byte{'P', 'K', 'O', 'K'}

// Errors of Conn.Probe.
var (
	// ErrProbeUnsupported: the server sent no picket marker, so it is a
	// plain nsca daemon (or a proxy) that never answers. Whether the
	// password and cipher are right cannot be told from the client.
	ErrProbeUnsupported = errors.New("the server does not take probes (no picket marker in its init packet): NSCA never answers, so whether the password and cipher are right cannot be told")
	// ErrProbeRejected: the server closed the connection on the probe,
	// which it does when the packet fails its CRC: the password or the
	// encryption method differs from the server's.
	ErrProbeRejected = errors.New("the server closed the connection on the probe: wrong password or encryption method")
	// ErrProbeNoAnswer: the server kept the connection open without
	// answering; a picket server from before the probe takes it for a
	// result (for host "picket-probe").
	ErrProbeNoAnswer = errors.New("no answer to the probe")
)

// Probe asks a picket server whether it decrypts this connection's packets:
// nil when it does, ErrProbeRejected when it closed the connection on the
// probe (wrong password or cipher), ErrProbeUnsupported (nothing sent)
// when the server sent no marker, an error wrapping ErrProbeNoAnswer when
// ctx ended first, and another error when the write failed or the answer
// made no sense. On success the connection stays usable; on any error but
// ErrProbeUnsupported it is closed.
func (c *Conn) Probe(ctx context.Context) error {
	if c.closed {
		return ErrClosed
	}
	if !c.marked {
		return ErrProbeUnsupported
	}
	var nonce [probeNonceBytes]byte
	if _, err := crand.Read(nonce[:]); err != nil {
		return fmt.Errorf("probe nonce: %w", err)
	}
	text := hex.EncodeToString(nonce[:])
	// Always a v3 packet: the server tells the sizes apart packet by
	// packet, and a legacy one with a wrong password would leave it
	// waiting for the rest of a v3 packet until its read timeout.
	buf := make([]byte, PacketSize)
	c.noise.XORKeyStream(buf, buf)
	if err := encodeProbe(buf, c.timestamp, text); err != nil {
		return err
	}
	c.crypt.encrypt(buf, 0)

	stopW := deadlineFromContext(ctx, c.nc.SetWriteDeadline)
	_, err := c.nc.Write(buf)
	stopW()
	if err != nil {
		c.Close()
		return fmt.Errorf("send probe (connection closed): %w", contextError(ctx, err))
	}
	var ans [probeAnswerSize]byte
	stopR := deadlineFromContext(ctx, c.nc.SetReadDeadline)
	_, err = io.ReadFull(c.nc, ans[:])
	stopR()
	c.nc.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		var ne net.Error
		if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("%w: %w", ErrProbeNoAnswer, contextError(ctx, err))
		}
		// The end of the stream or a reset: the server hung up on the
		// packet, which is what it does with one it cannot decrypt.
		return fmt.Errorf("%w (%v)", ErrProbeRejected, err)
	}
	if !bytes.Equal(ans[:4], probeOK[:]) || binary.BigEndian.Uint32(ans[4:]) != crc32.ChecksumIEEE([]byte(text)) {
		c.Close()
		return fmt.Errorf("the server answered the probe with %q, not the expected answer (connection closed)", ans[:])
	}
	return nil
}

// encodeProbe writes a probe carrying nonce into buf, which holds random
// bytes, as encode does for a result.
func encodeProbe(buf []byte, timestamp uint32, nonce string) error {
	p := Packet{Timestamp: timestamp, Host: probeHost, Output: nonce}
	if err := p.encode(buf); err != nil {
		return err
	}
	binary.BigEndian.PutUint16(buf[offPad:], probeFlag)
	binary.BigEndian.PutUint32(buf[offCRC:], 0)
	binary.BigEndian.PutUint32(buf[offCRC:], crc32.ChecksumIEEE(buf))
	return nil
}

// isProbe reports whether a decrypted, valid packet (plain, decoded as p)
// is a probe: the flag and the probe's exact form, so a send_nsca result
// with padding that happens to match is not taken for one.
func isProbe(plain []byte, p Packet) bool {
	if binary.BigEndian.Uint16(plain[offPad:]) != probeFlag || p.Host != probeHost || p.Service != "" ||
		p.ReturnCode != 0 || len(p.Output) != 2*probeNonceBytes {
		return false
	}
	for i := 0; i < len(p.Output); i++ {
		if c := p.Output[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// answerProbe tells the client its probe decrypted: probeOK and the CRC32
// of the nonce it sent, which only a server holding the same password and
// cipher could read. It reports whether the answer went out; if not, the
// caller closes the connection.
func (s *Server) answerProbe(nc net.Conn, p Packet) bool {
	var ans [probeAnswerSize]byte
	copy(ans[:], probeOK[:])
	binary.BigEndian.PutUint32(ans[4:], crc32.ChecksumIEEE([]byte(p.Output)))
	nc.SetWriteDeadline(time.Now().Add(s.readTimeout()))
	if _, err := nc.Write(ans[:]); err != nil {
		s.limit.log(slog.LevelInfo, "nsca: cannot answer a probe", "client", nc.RemoteAddr().String(), "err", err)
		return false
	}
	s.logger().Debug("nsca: probe answered: the client's password and cipher are right", "client", nc.RemoteAddr().String())
	return true
}
