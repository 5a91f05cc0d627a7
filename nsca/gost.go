package nsca

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// gost is the GOST 28147-89 block cipher (Magma in GOST R 34.12-2015): a
// 64-bit block as two 32-bit halves, a 256-bit key as eight 32-bit round
// keys used three times forward and once backward, and eight 4-bit S-boxes
// that the standard leaves to the user.
//
// libmcrypt's GOST (nsca method 23) differs from GOST R 34.12-2015 in three
// ways, all chosen by mcrypt: the key's 32-bit words are little-endian, not
// big-endian; the block's two halves come in the other order (the half the
// first round adds the key to is the first four bytes, each half
// big-endian); and its S-boxes are the "test" set of GOST R 34.11-94 from
// Applied Cryptography, mapped to the nibbles in reverse order and with one
// entry changed (see gostMcryptSBox).
type gost struct {
	k  [8]uint32
	s  *gostTables
	mc bool
}

// gostSBox lists the eight S-boxes, the first one for the lowest nibble.
type gostSBox [8][16]byte

// gostTables are an S-box set as four byte-wide tables that also do the
// round's rotation by 11 bits.
type gostTables [4][256]uint32

func (s *gostSBox) tables() *gostTables {
	t := new(gostTables)
	for i := range 4 {
		for v := range 256 {
			b := uint32(s[2*i][v&15]) | uint32(s[2*i+1][v>>4])<<4
			t[i][v] = bits.RotateLeft32(b<<(8*i), 11)
		}
	}
	return t
}

// newGOST: mcrypt selects libmcrypt's byte order, s the S-boxes.
func newGOST(key []byte, s *gostTables, mcrypt bool) (*gost, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("gost: key of %d bytes, want 32", len(key))
	}
	c := &gost{s: s, mc: mcrypt}
	for i := range c.k {
		c.k[i] = loadWord(key[4*i:], mcrypt)
	}
	return c, nil
}

func (c *gost) BlockSize() int { return 8 }

// g is the round function: S-boxes and rotation on the half plus the key.
func (c *gost) g(x uint32) uint32 {
	s := c.s
	return s[0][x&0xff] ^ s[1][x>>8&0xff] ^ s[2][x>>16&0xff] ^ s[3][x>>24]
}

// load returns the half the first round changes (hi) and the one it feeds
// to g (lo).
func (c *gost) load(src []byte) (hi, lo uint32) {
	_ = src[7]
	a, b := binary.BigEndian.Uint32(src), binary.BigEndian.Uint32(src[4:])
	if c.mc {
		return b, a
	}
	return a, b
}

func (c *gost) store(dst []byte, hi, lo uint32) {
	_ = dst[7]
	if c.mc {
		hi, lo = lo, hi
	}
	binary.BigEndian.PutUint32(dst, hi)
	binary.BigEndian.PutUint32(dst[4:], lo)
}

func (c *gost) Encrypt(dst, src []byte) {
	hi, lo := c.load(src)
	k := &c.k
	for range 3 {
		for i := 0; i < 8; i += 2 {
			hi ^= c.g(lo + k[i])
			lo ^= c.g(hi + k[i+1])
		}
	}
	for i := 7; i > 0; i -= 2 {
		hi ^= c.g(lo + k[i])
		lo ^= c.g(hi + k[i-1])
	}
	// The last round does not swap the halves.
	c.store(dst, lo, hi)
}

func (c *gost) Decrypt(dst, src []byte) {
	hi, lo := c.load(src)
	k := &c.k
	for i := 0; i < 8; i += 2 {
		hi ^= c.g(lo + k[i])
		lo ^= c.g(hi + k[i+1])
	}
	for range 3 {
		for i := 7; i > 0; i -= 2 {
			hi ^= c.g(lo + k[i])
			lo ^= c.g(hi + k[i-1])
		}
	}
	c.store(dst, lo, hi)
}

// gostMcryptSBox is libmcrypt's S-box set. It is the test parameter set of
// GOST R 34.11-94 (given in Applied Cryptography) with the boxes applied to
// the nibbles in reverse order, and with the last entry of the box for the
// lowest nibble misprinted as 2 instead of 12, so that box is not a
// permutation. mcrypt has always shipped it that way, so every nsca peer
// uses it.
var gostMcryptSBox = gostSBox{
	{1, 15, 13, 0, 5, 7, 10, 4, 9, 2, 3, 14, 6, 11, 8, 2},
	{13, 11, 4, 1, 3, 15, 5, 9, 0, 10, 14, 7, 6, 8, 2, 12},
	{4, 11, 10, 0, 7, 2, 1, 13, 3, 6, 8, 5, 9, 12, 15, 14},
	{6, 12, 7, 1, 5, 15, 13, 8, 4, 10, 9, 14, 0, 3, 11, 2},
	{7, 13, 10, 1, 0, 8, 9, 15, 14, 4, 6, 12, 11, 2, 5, 3},
	{5, 8, 1, 13, 10, 3, 4, 2, 14, 15, 12, 7, 6, 0, 9, 11},
	{14, 11, 4, 12, 6, 13, 15, 10, 2, 3, 8, 1, 0, 7, 5, 9},
	{4, 10, 9, 2, 13, 8, 0, 14, 6, 11, 1, 12, 7, 15, 5, 3},
}

var gostMcryptTables = gostMcryptSBox.tables()
