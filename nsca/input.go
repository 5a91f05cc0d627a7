package nsca

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// send_nsca's default separators.
const (
	DefaultFieldSep  byte = '\t'
	DefaultRecordSep byte = 0x17 // ETB
)

// maxRecord bounds one input record; send_nsca's own limit is 5119 bytes,
// which silently ends its run. Longer output is cut to fit the packet.
const maxRecord = 1 << 20

// ParseDelimiter reads a -d or -ds argument as send_nsca does: a single
// character stands for itself; a longer argument starting with a digit, '+'
// or '-' is a number in C notation ("0x09", "011", "9"... "23"); anything
// else contributes its first character.
func ParseDelimiter(arg string) (byte, error) {
	if arg == "" {
		return 0, errors.New("empty delimiter")
	}
	if len(arg) > 1 && (arg[0] >= '0' && arg[0] <= '9' || arg[0] == '+' || arg[0] == '-') {
		n, err := strconv.ParseInt(arg, 0, 16)
		if err != nil || n < 0 || n > 255 {
			return 0, fmt.Errorf("delimiter %q is not a character code from 0 to 255", arg)
		}
		return byte(n), nil
	}
	return arg[0], nil
}

// InputError is one input record that could not become a packet. Scanning
// goes on after it.
type InputError struct {
	Record int // 1-based
	Err    error
}

func (e *InputError) Error() string { return fmt.Sprintf("input record %d: %v", e.Record, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// InputScanner reads send_nsca's input: records separated by RecordSep,
// fields by FieldSep. Three fields make a host result (host, rc, output);
// four or more a service result, where everything after the third field's
// separator is output, separators and newlines included.
type InputScanner struct {
	sc       *bufio.Scanner
	fieldSep byte
	n        int
}

// NewInputScanner reads from r with the given separators.
func NewInputScanner(r io.Reader, fieldSep, recordSep byte) *InputScanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecord)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, recordSep); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	return &InputScanner{sc: sc, fieldSep: fieldSep}
}

// Next returns the next packet. Records that are blank or have fewer than
// three fields are skipped, as send_nsca skips them. A record that cannot be
// sent as written returns an *InputError; call Next again to go on. At the
// end it returns io.EOF.
func (s *InputScanner) Next() (Packet, error) {
	for s.sc.Scan() {
		s.n++
		p, ok, err := ParseRecord(s.sc.Text(), s.fieldSep)
		if err != nil {
			return Packet{}, &InputError{Record: s.n, Err: err}
		}
		if ok {
			return p, nil
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Packet{}, fmt.Errorf("input record %d is longer than %d bytes", s.n+1, maxRecord)
		}
		return Packet{}, fmt.Errorf("read input: %w", err)
	}
	return Packet{}, io.EOF
}

// ParseRecord turns one record into a packet, splitting fields as C's strtok
// does (runs of separators count as one, leading ones are skipped). ok is
// false for a record send_nsca would skip. Unlike send_nsca, a return code
// that is not a number, and a host or service name too long for the packet,
// are errors rather than a silent 0 or a cut name that Nagios would not know.
func ParseRecord(rec string, sep byte) (p Packet, ok bool, err error) {
	rec = strings.TrimRight(rec, " \r\n\t")
	var f [3]string
	rest := rec
	for i := range f {
		for rest != "" && rest[0] == sep {
			rest = rest[1:]
		}
		if rest == "" {
			return Packet{}, false, nil
		}
		end := strings.IndexByte(rest, sep)
		if end < 0 {
			f[i], rest = rest, ""
			if i < 2 {
				return Packet{}, false, nil
			}
			break
		}
		f[i], rest = rest[:end], rest[end+1:]
	}
	var rc string
	if rest == "" {
		p.Host, rc, p.Output = f[0], f[1], f[2]
	} else {
		p.Host, p.Service, rc, p.Output = f[0], f[1], f[2], rest
	}
	n, perr := strconv.ParseInt(strings.TrimSpace(rc), 10, 16)
	if perr != nil {
		return Packet{}, false, fmt.Errorf("return code %q is not a number", rc)
	}
	p.ReturnCode = int16(n)
	if err := p.Validate(PacketSize); err != nil {
		return Packet{}, false, err
	}
	return p, true, nil
}
