package nsca

import (
	"bytes"
	"crypto/cipher"
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
	f.Add(good, uint8(SAFERPlus))
	f.Add(good[:LegacySize], uint8(GOST))
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

// FuzzCryptRoundTrip: whatever the method, password, IV and data, what one
// end encrypts the other decrypts, with the cipher state running on from
// one piece to the next as in a connection (the server decrypts a packet in
// two pieces, split anywhere).
func FuzzCryptRoundTrip(f *testing.F) {
	f.Add(uint8(SAFERPlus), []byte("pw"), []byte("iv"), []byte("hello, nagios"), uint16(3))
	f.Add(uint8(RC2), bytes.Repeat([]byte("long password "), 12), []byte{}, bytes.Repeat([]byte{0}, 100), uint16(50))
	f.Add(uint8(Rijndael256), []byte{}, bytes.Repeat([]byte{0xff}, IVSize), []byte("x"), uint16(0))
	f.Fuzz(func(t *testing.T, method uint8, password, ivSeed, data []byte, split uint16) {
		m := Method(method % 27)
		if !m.Implemented() {
			return
		}
		if len(data) > 2*PacketSize {
			data = data[:2*PacketSize]
		}
		iv := make([]byte, IVSize)
		copy(iv, ivSeed)
		enc, err := newCrypter(m, password, iv)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := newCrypter(m, password, iv)
		if err != nil {
			t.Fatal(err)
		}
		// Two packets' worth, so the state carries over; XOR restarts at
		// every packet, so its pieces are offsets within one.
		at := int(split) % (len(data) + 1)
		buf := bytes.Clone(data)
		enc.encrypt(buf[:at], 0)
		enc.encrypt(buf[at:], at%PacketSize)
		dec.decrypt(buf[:at], 0)
		dec.decrypt(buf[at:], at%PacketSize)
		if !bytes.Equal(buf, data) {
			t.Fatalf("%s: round trip changed the data (split at %d of %d)", m, at, len(data))
		}
	})
}

// FuzzBlockCiphers: every cipher this package implements itself decrypts
// what it encrypts, in place or not, for any key of an accepted length, in
// the specification's byte order and in libmcrypt's.
func FuzzBlockCiphers(f *testing.F) {
	f.Add(uint8(0), []byte("key"), []byte("block"))
	f.Add(uint8(7), bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0xff}, 32))
	f.Fuzz(func(t *testing.T, which uint8, keySeed, blockSeed []byte) {
		ciphers := ownCiphers()
		c := ciphers[int(which)%len(ciphers)]
		key := make([]byte, c.keySize)
		copy(key, keySeed)
		b, err := c.newBlock(key)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		pt := make([]byte, b.BlockSize())
		copy(pt, blockSeed)
		ct := make([]byte, len(pt))
		b.Encrypt(ct, pt)
		inPlace := bytes.Clone(pt)
		b.Encrypt(inPlace, inPlace)
		if !bytes.Equal(inPlace, ct) {
			t.Fatalf("%s: in-place encryption differs", c.name)
		}
		b.Decrypt(inPlace, inPlace)
		if !bytes.Equal(inPlace, pt) {
			t.Fatalf("%s: key %x: decrypt(encrypt(%x)) = %x", c.name, key, pt, inPlace)
		}
	})
}

type ownCipher struct {
	name     string
	keySize  int
	newBlock func(key []byte) (cipher.Block, error)
}

// ownCiphers are this package's block ciphers with every key length and
// byte order they take.
func ownCiphers() []ownCipher {
	var out []ownCipher
	for _, order := range []bool{false, true} {
		for _, n := range []int{16, 20, 24, 28, 32} {
			out = append(out, ownCipher{"cast256", n, func(k []byte) (cipher.Block, error) { return newCAST256(k, order) }})
		}
		out = append(out,
			ownCipher{"loki97", 32, func(k []byte) (cipher.Block, error) { return newLOKI97(k, order) }},
			ownCipher{"gost", 32, func(k []byte) (cipher.Block, error) { return newGOST(k, gostMcryptTables, order) }})
		for _, n := range []int{16, 24, 32} {
			out = append(out, ownCipher{"saferplus", n, func(k []byte) (cipher.Block, error) { return newSAFERPlus(k, order) }})
		}
	}
	for _, n := range []int{1, 8, 16, 64, 128} {
		out = append(out, ownCipher{"rc2", n, func(k []byte) (cipher.Block, error) { return newRC2(k, 1+(n*8-1)%rc2MaxEffectiveBits) }})
	}
	for _, n := range []int{16, 24, 32} {
		out = append(out, ownCipher{"serpent", n, func(k []byte) (cipher.Block, error) { return newSerpent(k) }})
		for _, bs := range []int{24, 32} {
			out = append(out, ownCipher{"rijndael", n, func(k []byte) (cipher.Block, error) { return newRijndael(k, bs) }})
		}
	}
	return out
}

// TestOwnCiphersAllConstruct makes sure the fuzz target's table holds no
// key or block size a constructor refuses.
func TestOwnCiphersAllConstruct(t *testing.T) {
	for _, c := range ownCiphers() {
		if _, err := c.newBlock(make([]byte, c.keySize)); err != nil {
			t.Errorf("%s with a %d-byte key: %v", c.name, c.keySize, err)
		}
	}
}
