package nsca

import "fmt"

// loki97 is LOKI97 (Brown and Pieprzyk, an AES candidate): 128-bit blocks
// as two 64-bit halves, 16 rounds using 48 subkeys. Only the 256-bit key is
// implemented, as in libmcrypt (nsca method 10).
//
// libmcrypt reads and writes every 32-bit word of the key and of the block
// in little-endian byte order, where the specification's words are
// big-endian; le selects that order. Its 64-bit words keep the
// specification's high-word-first order.
type loki97 struct {
	sk [48]uint64
	le bool
}

const loki97Delta = 0x9e3779b97f4a7c15 // (sqrt(5)-1) * 2^63

func newLOKI97(key []byte, le bool) (*loki97, error) {
	if len(key) != 32 {
		// libmcrypt implements only the 256-bit key, the one nsca uses.
		return nil, fmt.Errorf("loki97: key of %d bytes, want 32", len(key))
	}
	c := &loki97{le: le}
	k4, k3 := c.load64(key[0:]), c.load64(key[8:])
	k2, k1 := c.load64(key[16:]), c.load64(key[24:])
	delta := uint64(0)
	for i := range c.sk {
		delta += loki97Delta
		sk := k4 ^ lokiF(k1+k3+delta, k2)
		k4, k3, k2, k1 = k3, k2, k1, sk
		c.sk[i] = sk
	}
	return c, nil
}

func (c *loki97) BlockSize() int { return 16 }

func (c *loki97) Encrypt(dst, src []byte) {
	l, r := c.load64(src[0:]), c.load64(src[8:])
	for i := 0; i < 48; i += 3 {
		t := r + c.sk[i]
		l, r = r+c.sk[i]+c.sk[i+2], l^lokiF(t, c.sk[i+1])
	}
	c.store64(dst[0:], r)
	c.store64(dst[8:], l)
}

func (c *loki97) Decrypt(dst, src []byte) {
	r, l := c.load64(src[0:]), c.load64(src[8:])
	for i := 45; i >= 0; i -= 3 {
		t := l - c.sk[i+2]
		l, r = r^lokiF(t, c.sk[i+1]), t-c.sk[i]
	}
	c.store64(dst[0:], l)
	c.store64(dst[8:], r)
}

func (c *loki97) load64(b []byte) uint64 {
	_ = b[7]
	return uint64(loadWord(b, c.le))<<32 | uint64(loadWord(b[4:], c.le))
}

func (c *loki97) store64(b []byte, v uint64) {
	_ = b[7]
	storeWord(b, uint32(v>>32), c.le)
	storeWord(b[4:], uint32(v), c.le)
}

// lokiF is the round function f(A, B) = Sb(P(Sa(E(KP(A, B)))), B).
func lokiF(a, b uint64) uint64 {
	// KP: the low 32 bits of B choose which bits of A's halves swap.
	sr := uint32(b)
	al, ar := uint32(a>>32), uint32(a)
	l, r := (al&^sr)|(ar&sr), (ar&^sr)|(al&sr)
	x := uint64(l)<<32 | uint64(r)
	// E expands the 64 bits to 13/11-bit inputs of S1/S2 (Sa), and P
	// sends bit j of the n-th S-box output to bit 8j+n.
	y := lokiP[0][lokiS1[(x>>56|x<<8)&0x1fff]] |
		lokiP[1][lokiS2[x>>48&0x7ff]] |
		lokiP[2][lokiS1[x>>40&0x1fff]] |
		lokiP[3][lokiS2[x>>32&0x7ff]] |
		lokiP[4][lokiS2[x>>24&0x7ff]] |
		lokiP[5][lokiS1[x>>16&0x1fff]] |
		lokiP[6][lokiS2[x>>8&0x7ff]] |
		lokiP[7][lokiS1[x&0x1fff]]
	// Sb: the high 32 bits of B supply the S-boxes' upper input bits.
	s := b >> 32
	return uint64(lokiS2[s>>21&0x700|y>>56])<<56 |
		uint64(lokiS2[s>>18&0x700|y>>48&0xff])<<48 |
		uint64(lokiS1[s>>13&0x1f00|y>>40&0xff])<<40 |
		uint64(lokiS1[s>>8&0x1f00|y>>32&0xff])<<32 |
		uint64(lokiS2[s>>5&0x700|y>>24&0xff])<<24 |
		uint64(lokiS2[s>>2&0x700|y>>16&0xff])<<16 |
		uint64(lokiS1[s<<3&0x1f00|y>>8&0xff])<<8 |
		uint64(lokiS1[s<<8&0x1f00|y&0xff])
}

// The S-boxes cube their input (complemented) in GF(2^13) and GF(2^11) and
// keep the low byte; lokiP[n][v] places the bits of the n-th S-box output v
// where the permutation P sends them.
var (
	lokiS1 [1 << 13]byte
	lokiS2 [1 << 11]byte
	lokiP  [8][256]uint64
)

func init() {
	for i := range lokiS1 {
		x := uint32(i) ^ 0x1fff
		lokiS1[i] = byte(gfMul(gfMul(x, x, 13, 0x2911), x, 13, 0x2911))
	}
	for i := range lokiS2 {
		x := uint32(i) ^ 0x7ff
		lokiS2[i] = byte(gfMul(gfMul(x, x, 11, 0xaa7), x, 11, 0xaa7))
	}
	for i := range 8 {
		for v := range 256 {
			var out uint64
			for j := range 8 {
				if v>>j&1 == 1 {
					out |= 1 << (8*j + i)
				}
			}
			lokiP[i][v] = out
		}
	}
}

// gfMul multiplies a and b in GF(2^n) modulo the polynomial poly.
func gfMul(a, b uint32, n uint, poly uint32) uint32 {
	var r uint32
	for b != 0 {
		if b&1 == 1 {
			r ^= a
		}
		b >>= 1
		a <<= 1
		if a>>n&1 == 1 {
			a ^= poly
		}
	}
	return r
}
