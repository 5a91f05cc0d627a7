package nsca

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes through decryption and decoding, as a
// hostile client could: no panic, and any packet that decodes re-encodes to
// the same fields.
func FuzzDecode(f *testing.F) {
	good := make([]byte, PacketSize)
	p := Packet{Host: "h", Service: "s", Output: "o", Timestamp: 1}
	p.encode(good)
	f.Add(good, uint8(None))
	f.Add(good[:LegacySize], uint8(XOR))
	f.Add([]byte{0, 3}, uint8(Rijndael128))
	f.Fuzz(func(t *testing.T, data []byte, method uint8) {
		m := Method(method % 27)
		if !m.Implemented() {
			m = None
		}
		size := PacketSize
		if len(data) <= LegacySize {
			size = LegacySize
		}
		buf := make([]byte, size)
		copy(buf, data)
		cr, err := newCrypter(m, []byte("pw"), bytes.Repeat([]byte{7}, IVSize))
		if err != nil {
			t.Fatal(err)
		}
		cr.decrypt(buf, 0)
		got, err := decode(buf)
		if err != nil {
			return
		}
		re := make([]byte, size)
		if err := got.encode(re); err != nil {
			t.Fatalf("decoded packet does not encode: %v", err)
		}
		again, err := decode(re)
		if err != nil || again != got {
			t.Fatalf("re-encoded %+v as %+v (%v)", got, again, err)
		}
	})
}

// FuzzParseRecord: no panic, and what parses survives the trip through a
// packet unchanged (but for output cut to fit).
func FuzzParseRecord(f *testing.F) {
	f.Add("web01\tdisk\t1\tDISK WARNING | /=1MB;2;3", byte('\t'))
	f.Add("h\t0\thost ok", byte('\t'))
	f.Add("\t\th\t\ts\t3\t\tx\n", byte('\t'))
	f.Add("h;s;1;a;b", byte(';'))
	f.Fuzz(func(t *testing.T, rec string, sep byte) {
		p, ok, err := ParseRecord(rec, sep)
		if err != nil || !ok {
			return
		}
		if p.Host == "" || strings.IndexByte(p.Host, sep) >= 0 {
			t.Fatalf("bad host %q", p.Host)
		}
		buf := make([]byte, PacketSize)
		if err := p.encode(buf); err != nil {
			t.Fatal(err)
		}
		got, err := decode(buf)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsRune(p.Host+p.Service, 0) || strings.ContainsRune(p.Output, 0) {
			return // NUL ends a C string: the wire cannot carry it
		}
		p.Output = TruncateOutput(p.Output, MaxOutput)
		if got != p {
			t.Fatalf("round trip: got %+v, want %+v", got, p)
		}
	})
}
