package builtin

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// The fixed part of an EVENTLOGRECORD, as ReadEventLogW returns it, and the
// signature in its second field ("LfLe").
const (
	evtHeaderLen = 56
	evtSignature = 0x654c664c
)

// parseEventRecords reads the EVENTLOGRECORDs that one ReadEventLogW call
// put into buf. It is kept apart from the Windows calls so it is tested on
// every OS; a record that does not hold together is an error, never a
// panic, since its lengths come from the buffer itself.
func parseEventRecords(buf []byte) ([]Event, error) {
	var out []Event
	for off := 0; off < len(buf); {
		rest := buf[off:]
		if len(rest) < evtHeaderLen {
			return out, fmt.Errorf("event record at %d: %d bytes, shorter than its header", off, len(rest))
		}
		le := binary.LittleEndian
		n := int(le.Uint32(rest))
		if n < evtHeaderLen || n > len(rest) || le.Uint32(rest[4:]) != evtSignature {
			return out, fmt.Errorf("event record at %d: bad length %d or signature", off, n)
		}
		rec := rest[:n]
		e := Event{
			Record: uint64(le.Uint32(rec[8:])),
			Time:   time.Unix(int64(le.Uint32(rec[12:])), 0).UTC(),
			ID:     le.Uint32(rec[20:]) & 0xffff, // the id Event Viewer shows
			Level:  eventLevel(le.Uint16(rec[24:])),
		}
		numStrings := int(le.Uint16(rec[26:]))
		e.Source, _ = utf16z(rec[evtHeaderLen:])
		strOff := int(le.Uint32(rec[36:]))
		if numStrings > 0 && strOff >= evtHeaderLen && strOff < n {
			var parts []string
			p := rec[strOff:]
			for range numStrings {
				s, used := utf16z(p)
				parts = append(parts, s)
				if used >= len(p) {
					break
				}
				p = p[used:]
			}
			e.Message = strings.Join(parts, " ")
		}
		out = append(out, e)
		off += n
	}
	return out, nil
}

// utf16z reads a NUL-terminated little-endian UTF-16 string and returns it
// with the number of bytes it took, NUL included.
func utf16z(b []byte) (string, int) {
	var u []uint16
	i := 0
	for ; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			return string(utf16.Decode(u)), i + 2
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), len(b)
}

// eventLevel names an EVENTLOGRECORD's EventType.
func eventLevel(t uint16) string {
	switch t {
	case 1:
		return "error"
	case 2:
		return "warning"
	case 8:
		return "audit_success"
	case 16:
		return "audit_failure"
	}
	return "information" // 0 (success) and 4
}

// scmState maps the SCM's SERVICE_* states to picket's words.
func scmState(s uint32) (state, detail string) {
	switch s {
	case 1:
		return ServiceStopped, "stopped"
	case 2:
		return ServiceStarting, "start pending"
	case 3:
		return ServiceStopping, "stop pending"
	case 4:
		return ServiceRunning, "running"
	case 5:
		return ServiceStarting, "continue pending"
	case 6:
		return ServicePaused, "pause pending"
	case 7:
		return ServicePaused, "paused"
	}
	return ServiceFailed, fmt.Sprintf("state %d", s)
}

// scmStartType names a SERVICE_*_START value, as sc.exe and the Services
// console do.
func scmStartType(t uint32, delayed bool) string {
	switch t {
	case 0:
		return "boot"
	case 1:
		return "system"
	case 2:
		if delayed {
			return "delayed-auto"
		}
		return "auto"
	case 3:
		return "manual"
	case 4:
		return "disabled"
	}
	return fmt.Sprintf("start type %d", t)
}

// readStart is the first record to read after record after, in a log
// holding oldest..newest; false when there is nothing new. A position the
// log no longer holds (overwritten, or the log was cleared and numbering
// started again) reads from the oldest.
func readStart(after, oldest, newest uint64) (uint64, bool) {
	switch {
	case after == newest:
		return 0, false
	case after > newest || after+1 < oldest:
		return oldest, true
	}
	return after + 1, true
}
