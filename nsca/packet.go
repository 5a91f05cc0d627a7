package nsca

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
	"unicode/utf8"
)

// Wire sizes of NSCA 2.x, as laid out by the C structs of nsca 2.10 (with
// their padding) on every platform it ships for.
const (
	IVSize         = 128  // IV bytes in the init packet
	InitPacketSize = 132  // IV then a big-endian u32 timestamp
	PacketSize     = 4304 // v3 data packet (NSCA 2.9 and later)
	LegacySize     = 720  // data packet of NSCA 2.7 (output[512])

	MaxHost         = 63   // host[64], NUL-terminated
	MaxService      = 127  // service[128]
	MaxOutput       = 4095 // output[4096]
	MaxLegacyOutput = 511  // output[512] in legacy packets

	packetVersion = 3

	offVersion = 0
	offCRC     = 4
	offTime    = 8
	offRC      = 12
	offHost    = 14
	offService = offHost + MaxHost + 1
	offOutput  = offService + MaxService + 1
)

// Errors a packet can fail to decode with. Both usually mean the client and
// server disagree on password or encryption method: nsca gives the client no
// answer, so the server's log is the only place this shows.
var (
	ErrVersion = errors.New("bad packet version (wrong password or encryption method?)")
	ErrCRC     = errors.New("CRC32 mismatch (wrong password or encryption method?)")
	ErrTooLong = errors.New("field too long")
)

// Packet is one check result on the wire. An empty Service makes it a host
// check result.
type Packet struct {
	Timestamp  uint32 // seconds since 1970, echoed from the init packet
	ReturnCode int16
	Host       string
	Service    string
	Output     string
	// Checked, for a client, is when the result was checked: sent as the
	// timestamp to a server that takes check times (see checktime.go),
	// ignored otherwise.
	Checked time.Time
	// CheckTime, as received, says that Timestamp is when the result was
	// checked, not the server's clock at connect echoed.
	CheckTime bool
}

// Time returns the packet's timestamp as a time.
func (p *Packet) Time() time.Time { return time.Unix(int64(p.Timestamp), 0) }

// Validate reports whether p fits a packet of the given size (PacketSize or
// LegacySize). Host and service names are never cut: a truncated name would
// report under the wrong (or no) Nagios object.
func (p *Packet) Validate(size int) error {
	if len(p.Host) > MaxHost {
		return fmt.Errorf("host name is %d bytes, NSCA allows %d: %w", len(p.Host), MaxHost, ErrTooLong)
	}
	if len(p.Service) > MaxService {
		return fmt.Errorf("service name is %d bytes, NSCA allows %d: %w", len(p.Service), MaxService, ErrTooLong)
	}
	if size != PacketSize && size != LegacySize {
		return fmt.Errorf("packet size %d is neither %d nor %d", size, PacketSize, LegacySize)
	}
	return nil
}

// TruncateOutput cuts s to at most max bytes without splitting a UTF-8
// sequence, so Nagios never shows a broken character at the cut.
func TruncateOutput(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// maxOutput is the output capacity of a packet of the given size.
func maxOutput(size int) int { return size - offOutput - 2 - 1 }

// encode writes p into buf (len PacketSize or LegacySize) and sets its CRC.
// buf must already hold random bytes: like send_nsca, picket fills unused
// space with noise so the end of the text is not visible in the ciphertext.
// Output longer than the packet allows is cut (see TruncateOutput).
func (p *Packet) encode(buf []byte) error {
	if err := p.Validate(len(buf)); err != nil {
		return err
	}
	binary.BigEndian.PutUint16(buf[offVersion:], packetVersion)
	flag := uint16(0)
	if p.CheckTime {
		flag = checkTimeFlag
	}
	binary.BigEndian.PutUint16(buf[offPad:], flag)
	binary.BigEndian.PutUint32(buf[offCRC:], 0)
	binary.BigEndian.PutUint32(buf[offTime:], p.Timestamp)
	binary.BigEndian.PutUint16(buf[offRC:], uint16(p.ReturnCode))
	putString(buf[offHost:], p.Host)
	putString(buf[offService:], p.Service)
	putString(buf[offOutput:], TruncateOutput(p.Output, maxOutput(len(buf))))
	binary.BigEndian.PutUint32(buf[offCRC:], crc32.ChecksumIEEE(buf))
	return nil
}

func putString(dst []byte, s string) {
	n := copy(dst, s)
	dst[n] = 0
}

// decode reads a decrypted packet of len PacketSize or LegacySize. It checks
// version and CRC and, like nsca, reads each field up to its first NUL.
func decode(buf []byte) (Packet, error) {
	if v := binary.BigEndian.Uint16(buf[offVersion:]); v != packetVersion {
		return Packet{}, fmt.Errorf("version %d: %w", int16(v), ErrVersion)
	}
	if want, got := binary.BigEndian.Uint32(buf[offCRC:]), checksum(buf); want != got {
		return Packet{}, ErrCRC
	}
	return Packet{
		CheckTime:  binary.BigEndian.Uint16(buf[offPad:]) == checkTimeFlag,
		Timestamp:  binary.BigEndian.Uint32(buf[offTime:]),
		ReturnCode: int16(binary.BigEndian.Uint16(buf[offRC:])),
		Host:       cString(buf[offHost : offHost+MaxHost]),
		Service:    cString(buf[offService : offService+MaxService]),
		Output:     cString(buf[offOutput : offOutput+maxOutput(len(buf))]),
	}, nil
}

var zeroCRC [4]byte

// checksum is the packet's CRC32 computed with its CRC field taken as zero,
// without copying the packet.
func checksum(buf []byte) uint32 {
	c := crc32.ChecksumIEEE(buf[:offCRC])
	c = crc32.Update(c, crc32.IEEETable, zeroCRC[:])
	return crc32.Update(c, crc32.IEEETable, buf[offCRC+4:])
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Decode decrypts nothing: it parses one plain packet of PacketSize or
// LegacySize bytes. It exists for tools and tests; servers use [Server].
func Decode(buf []byte) (Packet, error) {
	if len(buf) != PacketSize && len(buf) != LegacySize {
		return Packet{}, fmt.Errorf("packet is %d bytes, want %d or %d", len(buf), PacketSize, LegacySize)
	}
	return decode(buf)
}
