package nsca

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

//go:generate go run rijndael_gen.go

// rijndael is Rijndael (Daemen and Rijmen) with a block of 6 or 8 32-bit
// columns and a key of 4, 6 or 8 words: libmcrypt's Rijndael-192 and
// Rijndael-256 (nsca methods 15 and 16), whose blocks are 192 and 256 bits
// wide. (With 4-column blocks Rijndael is AES, for which crypto/aes serves
// method 14.) Bytes map to the state column by column, as in the
// specification, and libmcrypt follows it. The rounds are unrolled by
// rijndael_gen.go (rijndael_rounds.go).
type rijndael struct {
	nb, nr int
	enc    []uint32 // round keys, nb words per round
	dec    []uint32 // the same for the equivalent inverse cipher
}

func newRijndael(key []byte, blockSize int) (*rijndael, error) {
	nb, nk := blockSize/4, len(key)/4
	if blockSize != 24 && blockSize != 32 {
		return nil, fmt.Errorf("rijndael: block of %d bytes, want 24 or 32", blockSize)
	}
	if len(key) != 16 && len(key) != 24 && len(key) != 32 {
		return nil, fmt.Errorf("rijndael: key of %d bytes, want 16, 24 or 32", len(key))
	}
	c := &rijndael{nb: nb, nr: max(nb, nk) + 6}
	n := nb * (c.nr + 1)
	c.enc = make([]uint32, n)
	for i := range nk {
		c.enc[i] = binary.LittleEndian.Uint32(key[4*i:])
	}
	rcon := uint32(1)
	for i := nk; i < n; i++ {
		t := c.enc[i-1]
		switch {
		case i%nk == 0:
			t = subWord(bits.RotateLeft32(t, -8)) ^ rcon
			rcon = uint32(gfDouble(byte(rcon)))
		case nk > 6 && i%nk == 4:
			t = subWord(t)
		}
		c.enc[i] = c.enc[i-nk] ^ t
	}
	// The equivalent inverse cipher takes the round keys in reverse order,
	// the inner ones through InvMixColumns.
	c.dec = make([]uint32, n)
	for r := 0; r <= c.nr; r++ {
		for j := range nb {
			k := c.enc[(c.nr-r)*nb+j]
			if r > 0 && r < c.nr {
				k = rijTd[0][rijSBox[k&0xff]] ^ rijTd[1][rijSBox[k>>8&0xff]] ^
					rijTd[2][rijSBox[k>>16&0xff]] ^ rijTd[3][rijSBox[k>>24]]
			}
			c.dec[r*nb+j] = k
		}
	}
	return c, nil
}

func (c *rijndael) BlockSize() int { return 4 * c.nb }

func (c *rijndael) Encrypt(dst, src []byte) { c.crypt(dst, src, c.enc, &rijTe, &rijSBox, true) }

func (c *rijndael) Decrypt(dst, src []byte) { c.crypt(dst, src, c.dec, &rijTd, &rijInvSBox, false) }

// crypt runs the cipher (enc) or the equivalent inverse cipher, whose
// round keys and tables the caller passes.
func (c *rijndael) crypt(dst, src []byte, rk []uint32, t *[4][256]uint32, s *[256]byte, enc bool) {
	var x [8]uint32
	n := 4 * c.nb
	_, _ = src[n-1], dst[n-1]
	for j := range c.nb {
		x[j] = binary.LittleEndian.Uint32(src[4*j:])
	}
	switch {
	case c.nb == 6 && enc:
		rijndaelEncrypt6((*[6]uint32)(x[:6]), rk, c.nr, t, s)
	case c.nb == 6:
		rijndaelDecrypt6((*[6]uint32)(x[:6]), rk, c.nr, t, s)
	case enc:
		rijndaelEncrypt8(&x, rk, c.nr, t, s)
	default:
		rijndaelDecrypt8(&x, rk, c.nr, t, s)
	}
	for j := range c.nb {
		binary.LittleEndian.PutUint32(dst[4*j:], x[j])
	}
}

func subWord(w uint32) uint32 {
	return uint32(rijSBox[w&0xff]) | uint32(rijSBox[w>>8&0xff])<<8 |
		uint32(rijSBox[w>>16&0xff])<<16 | uint32(rijSBox[w>>24])<<24
}

// gfDouble multiplies by x in GF(2^8) modulo x^8+x^4+x^3+x+1.
func gfDouble(a byte) byte {
	return a<<1 ^ byte(int8(a)>>7)&0x1b
}

func gfMul8(a, b byte) byte {
	var r byte
	for ; b != 0; b >>= 1 {
		if b&1 == 1 {
			r ^= a
		}
		a = gfDouble(a)
	}
	return r
}

// The S-box (inversion in GF(2^8) and the affine map) and the round tables:
// rijTe[i][v] is the contribution of byte v in row i to its column after
// SubBytes and MixColumns, rijTd the same for InvSubBytes and
// InvMixColumns. Computed once, from the specification's definitions.
var (
	rijSBox, rijInvSBox [256]byte
	rijTe, rijTd        [4][256]uint32
)

func init() {
	for i := range 256 {
		var inv byte
		for j := 1; j < 256 && i != 0; j++ {
			if gfMul8(byte(i), byte(j)) == 1 {
				inv = byte(j)
				break
			}
		}
		s := inv ^ bits.RotateLeft8(inv, 1) ^ bits.RotateLeft8(inv, 2) ^
			bits.RotateLeft8(inv, 3) ^ bits.RotateLeft8(inv, 4) ^ 0x63
		rijSBox[i] = s
		rijInvSBox[s] = byte(i)
	}
	for v := range 256 {
		s, u := rijSBox[v], rijInvSBox[v]
		e := uint32(gfMul8(s, 2)) | uint32(s)<<8 | uint32(s)<<16 | uint32(gfMul8(s, 3))<<24
		d := uint32(gfMul8(u, 14)) | uint32(gfMul8(u, 9))<<8 | uint32(gfMul8(u, 13))<<16 | uint32(gfMul8(u, 11))<<24
		for i := range 4 {
			rijTe[i][v] = bits.RotateLeft32(e, 8*i)
			rijTd[i][v] = bits.RotateLeft32(d, 8*i)
		}
	}
}
