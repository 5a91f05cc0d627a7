package nsca

import (
	"encoding/binary"
	"fmt"
)

// saferPlus is SAFER+ (Massey, Khachatrian, Kuregian; an AES candidate):
// 128-bit blocks handled as 16 bytes, keys of 16, 24 or 32 bytes giving 8,
// 12 or 16 rounds.
//
// libmcrypt (nsca method 26) reads the key and the block as 32-bit words
// in reverse order, last word first, and writes the result the same way;
// the bytes inside each word keep their order. rev selects that order.
type saferPlus struct {
	rounds int
	k      [33][16]byte // subkeys K1..K2r+1 at k[0..2r]
	rev    bool
}

func newSAFERPlus(key []byte, rev bool) (*saferPlus, error) {
	n := len(key)
	if n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("saferplus: key of %d bytes, want 16, 24 or 32", n)
	}
	c := &saferPlus{rounds: n / 2, rev: rev}
	// The key schedule's register: the key bytes and their XOR.
	var reg [33]byte
	for i := 0; i < n; i += 4 {
		if rev {
			copy(reg[n-4-i:n-i], key[i:i+4])
		} else {
			copy(reg[i:i+4], key[i:i+4])
		}
	}
	for _, b := range reg[:n] {
		reg[n] ^= b
	}
	copy(c.k[0][:], reg[:16])
	for i := 1; i <= 2*c.rounds; i++ {
		for j := 0; j <= n; j++ {
			reg[j] = reg[j]<<3 | reg[j]>>5
		}
		// Subkey K(i+1) takes 16 register bytes from position i on, each
		// plus its bias byte: exp(exp(17(i+1)+j+1)) for K2 to K17,
		// exp(17(i+1)+j+1) from K18 on, where exp(v) = 45^v mod 257.
		for j := range 16 {
			e := saferExp[byte(17*(i+1)+j+1)]
			if i+1 <= 17 {
				e = saferExp[e]
			}
			c.k[i][j] = reg[(i+j)%(n+1)] + e
		}
	}
	return c, nil
}

func (c *saferPlus) BlockSize() int { return 16 }

// saferRound is one round: the key layer with K(2r-1) and K(2r), then the
// linear layer, four layers of PHTs with the Armenian shuffle between
// them. It is unrolled so the bytes stay in registers and the shuffles
// are only renamings; TestSAFERPlusRoundUnrolled checks it against the
// specification's layer-by-layer form.
func saferRound(x, k1, k2 *[16]byte) {
	x0 := saferExp[x[0]^k1[0]] + k2[0]
	x1 := saferLog[x[1]+k1[1]] ^ k2[1]
	x2 := saferLog[x[2]+k1[2]] ^ k2[2]
	x3 := saferExp[x[3]^k1[3]] + k2[3]
	x4 := saferExp[x[4]^k1[4]] + k2[4]
	x5 := saferLog[x[5]+k1[5]] ^ k2[5]
	x6 := saferLog[x[6]+k1[6]] ^ k2[6]
	x7 := saferExp[x[7]^k1[7]] + k2[7]
	x8 := saferExp[x[8]^k1[8]] + k2[8]
	x9 := saferLog[x[9]+k1[9]] ^ k2[9]
	x10 := saferLog[x[10]+k1[10]] ^ k2[10]
	x11 := saferExp[x[11]^k1[11]] + k2[11]
	x12 := saferExp[x[12]^k1[12]] + k2[12]
	x13 := saferLog[x[13]+k1[13]] ^ k2[13]
	x14 := saferLog[x[14]+k1[14]] ^ k2[14]
	x15 := saferExp[x[15]^k1[15]] + k2[15]
	x0, x1 = pht(x0, x1)
	x2, x3 = pht(x2, x3)
	x4, x5 = pht(x4, x5)
	x6, x7 = pht(x6, x7)
	x8, x9 = pht(x8, x9)
	x10, x11 = pht(x10, x11)
	x12, x13 = pht(x12, x13)
	x14, x15 = pht(x14, x15)
	x8, x11 = pht(x8, x11)
	x12, x15 = pht(x12, x15)
	x2, x1 = pht(x2, x1)
	x6, x5 = pht(x6, x5)
	x10, x9 = pht(x10, x9)
	x14, x13 = pht(x14, x13)
	x0, x7 = pht(x0, x7)
	x4, x3 = pht(x4, x3)
	x10, x13 = pht(x10, x13)
	x0, x3 = pht(x0, x3)
	x12, x11 = pht(x12, x11)
	x6, x1 = pht(x6, x1)
	x14, x9 = pht(x14, x9)
	x4, x7 = pht(x4, x7)
	x8, x5 = pht(x8, x5)
	x2, x15 = pht(x2, x15)
	x14, x7 = pht(x14, x7)
	x8, x15 = pht(x8, x15)
	x0, x13 = pht(x0, x13)
	x6, x11 = pht(x6, x11)
	x4, x9 = pht(x4, x9)
	x2, x5 = pht(x2, x5)
	x10, x1 = pht(x10, x1)
	x12, x3 = pht(x12, x3)
	x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7] = x14, x7, x8, x15, x0, x13, x6, x11
	x[8], x[9], x[10], x[11], x[12], x[13], x[14], x[15] = x4, x9, x2, x5, x10, x1, x12, x3
}

// saferUnround undoes saferRound.
func saferUnround(x, k1, k2 *[16]byte) {
	x14, x7, x8, x15, x0, x13, x6, x11 := x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]
	x4, x9, x2, x5, x10, x1, x12, x3 := x[8], x[9], x[10], x[11], x[12], x[13], x[14], x[15]
	x14, x7 = ipht(x14, x7)
	x8, x15 = ipht(x8, x15)
	x0, x13 = ipht(x0, x13)
	x6, x11 = ipht(x6, x11)
	x4, x9 = ipht(x4, x9)
	x2, x5 = ipht(x2, x5)
	x10, x1 = ipht(x10, x1)
	x12, x3 = ipht(x12, x3)
	x10, x13 = ipht(x10, x13)
	x0, x3 = ipht(x0, x3)
	x12, x11 = ipht(x12, x11)
	x6, x1 = ipht(x6, x1)
	x14, x9 = ipht(x14, x9)
	x4, x7 = ipht(x4, x7)
	x8, x5 = ipht(x8, x5)
	x2, x15 = ipht(x2, x15)
	x8, x11 = ipht(x8, x11)
	x12, x15 = ipht(x12, x15)
	x2, x1 = ipht(x2, x1)
	x6, x5 = ipht(x6, x5)
	x10, x9 = ipht(x10, x9)
	x14, x13 = ipht(x14, x13)
	x0, x7 = ipht(x0, x7)
	x4, x3 = ipht(x4, x3)
	x0, x1 = ipht(x0, x1)
	x2, x3 = ipht(x2, x3)
	x4, x5 = ipht(x4, x5)
	x6, x7 = ipht(x6, x7)
	x8, x9 = ipht(x8, x9)
	x10, x11 = ipht(x10, x11)
	x12, x13 = ipht(x12, x13)
	x14, x15 = ipht(x14, x15)
	x[0] = saferLog[x0-k2[0]] ^ k1[0]
	x[1] = saferExp[x1^k2[1]] - k1[1]
	x[2] = saferExp[x2^k2[2]] - k1[2]
	x[3] = saferLog[x3-k2[3]] ^ k1[3]
	x[4] = saferLog[x4-k2[4]] ^ k1[4]
	x[5] = saferExp[x5^k2[5]] - k1[5]
	x[6] = saferExp[x6^k2[6]] - k1[6]
	x[7] = saferLog[x7-k2[7]] ^ k1[7]
	x[8] = saferLog[x8-k2[8]] ^ k1[8]
	x[9] = saferExp[x9^k2[9]] - k1[9]
	x[10] = saferExp[x10^k2[10]] - k1[10]
	x[11] = saferLog[x11-k2[11]] ^ k1[11]
	x[12] = saferLog[x12-k2[12]] ^ k1[12]
	x[13] = saferExp[x13^k2[13]] - k1[13]
	x[14] = saferExp[x14^k2[14]] - k1[14]
	x[15] = saferLog[x15-k2[15]] ^ k1[15]
}

// pht is the 2-point pseudo-Hadamard transform, (a, b) to (2a+b, a+b);
// ipht inverts it.
func pht(a, b byte) (byte, byte) { return 2*a + b, a + b }

func ipht(a, b byte) (byte, byte) { return a - b, 2*b - a }

func (c *saferPlus) Encrypt(dst, src []byte) {
	var x [16]byte
	c.load(&x, src)
	for r := range c.rounds {
		saferRound(&x, &c.k[2*r], &c.k[2*r+1])
	}
	k := &c.k[2*c.rounds]
	for i := 0; i < 16; i += 4 {
		x[i] ^= k[i]
		x[i+1] += k[i+1]
		x[i+2] += k[i+2]
		x[i+3] ^= k[i+3]
	}
	c.store(dst, &x)
}

func (c *saferPlus) Decrypt(dst, src []byte) {
	var x [16]byte
	c.load(&x, src)
	k := &c.k[2*c.rounds]
	for i := 0; i < 16; i += 4 {
		x[i] ^= k[i]
		x[i+1] -= k[i+1]
		x[i+2] -= k[i+2]
		x[i+3] ^= k[i+3]
	}
	for r := c.rounds - 1; r >= 0; r-- {
		saferUnround(&x, &c.k[2*r], &c.k[2*r+1])
	}
	c.store(dst, &x)
}

func (c *saferPlus) load(x *[16]byte, src []byte) {
	if c.rev {
		reverseWords(x, (*[16]byte)(src))
		return
	}
	*x = [16]byte(src)
}

func (c *saferPlus) store(dst []byte, x *[16]byte) {
	if c.rev {
		reverseWords((*[16]byte)(dst), x)
		return
	}
	copy(dst[:16], x[:])
}

// reverseWords copies src to dst with its 4-byte words in reverse order.
func reverseWords(dst, src *[16]byte) {
	w0 := binary.LittleEndian.Uint32(src[0:])
	w1 := binary.LittleEndian.Uint32(src[4:])
	w2 := binary.LittleEndian.Uint32(src[8:])
	w3 := binary.LittleEndian.Uint32(src[12:])
	binary.LittleEndian.PutUint32(dst[0:], w3)
	binary.LittleEndian.PutUint32(dst[4:], w2)
	binary.LittleEndian.PutUint32(dst[8:], w1)
	binary.LittleEndian.PutUint32(dst[12:], w0)
}

// saferExp[i] is 45^i mod 257 (256 written as 0); saferLog inverts it.
var saferExp, saferLog [256]byte

func init() {
	e := 1
	for i := range 256 {
		saferExp[i] = byte(e) // 45^128 = 256 = -1 mod 257 becomes 0
		saferLog[byte(e)] = byte(i)
		e = e * 45 % 257
	}
}
