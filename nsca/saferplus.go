package nsca

import "fmt"

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
	if rev {
		reverseWords(reg[:n], key)
	} else {
		copy(reg[:], key)
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
		// plus its bias byte: 45^45^(17(i+1)+j+1) mod 257 for the first
		// sixteen subkeys, 45^(17(i+1)+j+1) for the rest.
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

// Bytes 0, 3, 4, 7, 8, 11, 12 and 15 take the XOR-exp-add path of a round,
// the others add-log-XOR.
var saferXorPath = [16]bool{true, false, false, true, true, false, false, true, true, false, false, true, true, false, false, true}

// The "Armenian shuffle" that comes between the layers of 2-point PHTs:
// after it, byte i holds what was byte saferShuffle[i].
var saferShuffle = [16]uint8{8, 11, 12, 15, 2, 1, 6, 5, 10, 9, 14, 13, 0, 7, 4, 3}

func (c *saferPlus) Encrypt(dst, src []byte) {
	var x [16]byte
	c.load(&x, src)
	for r := range c.rounds {
		k1, k2 := &c.k[2*r], &c.k[2*r+1]
		for i := range x {
			if saferXorPath[i] {
				x[i] = saferExp[x[i]^k1[i]] + k2[i]
			} else {
				x[i] = saferLog[x[i]+k1[i]] ^ k2[i]
			}
		}
		for layer := range 4 {
			for i := 0; i < 16; i += 2 {
				x[i], x[i+1] = 2*x[i]+x[i+1], x[i]+x[i+1]
			}
			if layer < 3 {
				y := x
				for i, from := range saferShuffle {
					x[i] = y[from]
				}
			}
		}
	}
	k := &c.k[2*c.rounds]
	for i := range x {
		if saferXorPath[i] {
			x[i] ^= k[i]
		} else {
			x[i] += k[i]
		}
	}
	c.store(dst, &x)
}

func (c *saferPlus) Decrypt(dst, src []byte) {
	var x [16]byte
	c.load(&x, src)
	k := &c.k[2*c.rounds]
	for i := range x {
		if saferXorPath[i] {
			x[i] ^= k[i]
		} else {
			x[i] -= k[i]
		}
	}
	for r := c.rounds - 1; r >= 0; r-- {
		for layer := range 4 {
			if layer > 0 {
				y := x
				for i, from := range saferShuffle {
					x[from] = y[i]
				}
			}
			for i := 0; i < 16; i += 2 {
				x[i], x[i+1] = x[i]-x[i+1], 2*x[i+1]-x[i]
			}
		}
		k1, k2 := &c.k[2*r], &c.k[2*r+1]
		for i := range x {
			if saferXorPath[i] {
				x[i] = saferLog[x[i]-k2[i]] ^ k1[i]
			} else {
				x[i] = saferExp[x[i]^k2[i]] - k1[i]
			}
		}
	}
	c.store(dst, &x)
}

func (c *saferPlus) load(x *[16]byte, src []byte) {
	if c.rev {
		reverseWords(x[:], src[:16])
		return
	}
	copy(x[:], src[:16])
}

func (c *saferPlus) store(dst []byte, x *[16]byte) {
	if c.rev {
		reverseWords(dst[:16], x[:])
		return
	}
	copy(dst[:16], x[:])
}

// reverseWords copies src to dst with its 4-byte words in reverse order.
func reverseWords(dst, src []byte) {
	n := len(src)
	for i := 0; i < n; i += 4 {
		copy(dst[n-4-i:n-i], src[i:i+4])
	}
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
