package nsca

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

//go:generate go run serpent_gen.go

// serpent is Serpent (Anderson, Biham, Knudsen) in bitslice mode, its
// rounds unrolled by serpent_gen.go (serpent_sbox.go), with the
// byte order of the NESSIE test vectors: key and block read as
// little-endian 32-bit words, the first word holding the lowest bits. That
// is also the order of libmcrypt's Serpent (nsca method 20), so one type
// serves both. Keys shorter than 256 bits are padded with a 1 bit and zeros.
type serpent struct{ k [33][4]uint32 }

func newSerpent(key []byte) (*serpent, error) {
	if len(key) < 1 || len(key) > 32 {
		return nil, fmt.Errorf("serpent: key of %d bytes, want 1 to 32", len(key))
	}
	var padded [32]byte
	copy(padded[:], key)
	if len(key) < 32 {
		padded[len(key)] = 1
	}
	// w[0:8] are the prekeys w-8..w-1, w[8+i] is w_i.
	var w [140]uint32
	for i := range 8 {
		w[i] = binary.LittleEndian.Uint32(padded[4*i:])
	}
	for i := 8; i < len(w); i++ {
		w[i] = bits.RotateLeft32(w[i-8]^w[i-5]^w[i-3]^w[i-1]^0x9e3779b9^uint32(i-8), 11)
	}
	s := new(serpent)
	for i := range s.k {
		// Round key i goes through S-box (3-i) mod 8, bit position by bit
		// position.
		box := &serpentSBox[(35-i)%8]
		for bit := range 32 {
			var in uint8
			for j := range 4 {
				in |= uint8(w[8+4*i+j]>>bit&1) << j
			}
			out := box[in&15]
			for j := range 4 {
				s.k[i][j] |= uint32(out>>j&1) << bit
			}
		}
	}
	return s, nil
}

func (s *serpent) BlockSize() int { return 16 }

func (s *serpent) Encrypt(dst, src []byte) {
	_ = src[15]
	x0 := binary.LittleEndian.Uint32(src[0:])
	x1 := binary.LittleEndian.Uint32(src[4:])
	x2 := binary.LittleEndian.Uint32(src[8:])
	x3 := binary.LittleEndian.Uint32(src[12:])
	x0, x1, x2, x3 = serpentEncrypt8(x0, x1, x2, x3, (*[8][4]uint32)(s.k[0:8]), true)
	x0, x1, x2, x3 = serpentEncrypt8(x0, x1, x2, x3, (*[8][4]uint32)(s.k[8:16]), true)
	x0, x1, x2, x3 = serpentEncrypt8(x0, x1, x2, x3, (*[8][4]uint32)(s.k[16:24]), true)
	x0, x1, x2, x3 = serpentEncrypt8(x0, x1, x2, x3, (*[8][4]uint32)(s.k[24:32]), false)
	k := &s.k[32]
	_ = dst[15]
	binary.LittleEndian.PutUint32(dst[0:], x0^k[0])
	binary.LittleEndian.PutUint32(dst[4:], x1^k[1])
	binary.LittleEndian.PutUint32(dst[8:], x2^k[2])
	binary.LittleEndian.PutUint32(dst[12:], x3^k[3])
}

func (s *serpent) Decrypt(dst, src []byte) {
	_ = src[15]
	k := &s.k[32]
	x0 := binary.LittleEndian.Uint32(src[0:]) ^ k[0]
	x1 := binary.LittleEndian.Uint32(src[4:]) ^ k[1]
	x2 := binary.LittleEndian.Uint32(src[8:]) ^ k[2]
	x3 := binary.LittleEndian.Uint32(src[12:]) ^ k[3]
	x0, x1, x2, x3 = serpentDecrypt8(x0, x1, x2, x3, (*[8][4]uint32)(s.k[24:32]), false)
	x0, x1, x2, x3 = serpentDecrypt8(x0, x1, x2, x3, (*[8][4]uint32)(s.k[16:24]), true)
	x0, x1, x2, x3 = serpentDecrypt8(x0, x1, x2, x3, (*[8][4]uint32)(s.k[8:16]), true)
	x0, x1, x2, x3 = serpentDecrypt8(x0, x1, x2, x3, (*[8][4]uint32)(s.k[0:8]), true)
	_ = dst[15]
	binary.LittleEndian.PutUint32(dst[0:], x0)
	binary.LittleEndian.PutUint32(dst[4:], x1)
	binary.LittleEndian.PutUint32(dst[8:], x2)
	binary.LittleEndian.PutUint32(dst[12:], x3)
}
