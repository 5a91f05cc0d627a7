package check

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// codecVersion is the first byte of every encoded Result. A spool outlives
// the binary that wrote it (an upgrade with a backlog), so a new version
// must keep decoding every older one.
const codecVersion = 1

// ErrCodec is wrapped by every error UnmarshalBinary returns.
var ErrCodec = errors.New("invalid encoded result")

// AppendBinary appends r's encoding to b. Version 1 is, in order:
//
//	version   byte (1)
//	flags     byte (0; reserved)
//	host, service                      uvarint length + bytes each
//	state, exit code                   zig-zag varint each
//	check time (Unix ns), duration (ns) zig-zag varint each
//	output, long output                uvarint length + bytes each
//	perfdata count                     uvarint
//	  per item: label, uom, warn, crit, min, max (uvarint length + bytes
//	  each), value (IEEE 754 float64 bits, 8 bytes little-endian)
//
// Lengths rather than separators, so output may hold any byte.
func (r Result) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, codecVersion, 0)
	b = appendString(b, r.Host)
	b = appendString(b, r.Service)
	b = binary.AppendVarint(b, int64(r.State))
	b = binary.AppendVarint(b, int64(r.ExitCode))
	var ns int64
	if !r.CheckTime.IsZero() {
		ns = r.CheckTime.UnixNano()
	}
	b = binary.AppendVarint(b, ns)
	b = binary.AppendVarint(b, int64(r.Duration))
	b = appendString(b, r.Output)
	b = appendString(b, r.LongOutput)
	b = binary.AppendUvarint(b, uint64(len(r.Perfdata)))
	for _, p := range r.Perfdata {
		for _, s := range [...]string{p.Label, p.UOM, p.Warn, p.Crit, p.Min, p.Max} {
			b = appendString(b, s)
		}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Value))
	}
	return b, nil
}

// MarshalBinary encodes r in the current version; see AppendBinary.
func (r Result) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, 64+len(r.Host)+len(r.Service)+len(r.Output)+len(r.LongOutput)+48*len(r.Perfdata)))
}

// UnmarshalBinary decodes what AppendBinary wrote, of any version this
// binary knows. It never panics on bad input and never keeps a reference
// to data.
func (r *Result) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	if len(data) < 2 {
		return fmt.Errorf("%w: %d bytes", ErrCodec, len(data))
	}
	if v := data[0]; v != codecVersion {
		return fmt.Errorf("%w: version %d, this binary reads version %d", ErrCodec, v, codecVersion)
	}
	d.b = data[2:]
	var out Result
	out.Host = d.string("host")
	out.Service = d.string("service")
	out.State = State(d.varint("state"))
	out.ExitCode = int(d.varint("exit code"))
	if ns := d.varint("check time"); ns != 0 {
		out.CheckTime = time.Unix(0, ns)
	}
	out.Duration = time.Duration(d.varint("duration"))
	out.Output = d.string("output")
	out.LongOutput = d.string("long output")
	n := d.uvarint("perfdata count")
	// Each item takes at least 14 bytes, so a count the rest of the data
	// cannot hold is refused before it sizes an allocation.
	if d.err == nil && n > uint64(len(d.b)/14) {
		d.fail("perfdata count", fmt.Errorf("%d items in %d bytes", n, len(d.b)))
	}
	if d.err == nil && n > 0 {
		out.Perfdata = make([]Perf, n)
		for i := range out.Perfdata {
			p := &out.Perfdata[i]
			p.Label = d.string("perf label")
			p.UOM = d.string("perf uom")
			p.Warn = d.string("perf warn")
			p.Crit = d.string("perf crit")
			p.Min = d.string("perf min")
			p.Max = d.string("perf max")
			p.Value = math.Float64frombits(d.uint64("perf value"))
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("end", fmt.Errorf("%d bytes left over", len(d.b)))
	}
	if d.err != nil {
		return d.err
	}
	*r = out
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads fields in order and keeps the first error, so the field
// list in UnmarshalBinary reads like the format.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(field string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s: %w", ErrCodec, field, err)
	}
}

var errShort = errors.New("truncated")

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(field, errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(field, errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string(field string) string {
	n := d.uvarint(field)
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail(field, errShort)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) uint64(field string) uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail(field, errShort)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}
