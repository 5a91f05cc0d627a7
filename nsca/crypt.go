//lint:file-ignore SA1019 NSCA peers speak these legacy ciphers; compatibility is the point.

package nsca

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"fmt"

	"golang.org/x/crypto/blowfish"
	"golang.org/x/crypto/cast5"
	"golang.org/x/crypto/twofish"
	"golang.org/x/crypto/xtea"
)

// crypter encrypts or decrypts packets in place. For the mcrypt ciphers the
// state runs on from one packet to the next within a connection, exactly as
// send_nsca and nsca keep one mcrypt handle per connection. off is where p
// starts within its packet: XOR restarts at every packet, and the server
// decrypts a packet in two pieces before it knows its size.
type crypter interface {
	encrypt(p []byte, off int)
	decrypt(p []byte, off int)
}

// newCrypter returns the crypter for one connection. iv is the 128-byte IV
// from the init packet; password is used up to its first NUL, as the C code
// treats it as a string.
func newCrypter(m Method, password []byte, iv []byte) (crypter, error) {
	if i := bytes.IndexByte(password, 0); i >= 0 {
		password = password[:i]
	}
	switch m {
	case None:
		return noCrypt{}, nil
	case XOR:
		return newXORCrypt(password, iv), nil
	}
	spec, ok := blockCiphers[m]
	if !ok {
		return nil, fmt.Errorf("encryption method %d (%s) is not supported", int(m), m)
	}
	// libmcrypt takes the key at the cipher's maximum size: the password
	// zero-padded or cut to fit.
	key := make([]byte, spec.keySize)
	copy(key, password)
	block, err := spec.newBlock(key)
	if err != nil {
		return nil, fmt.Errorf("init %s: %w", m, err)
	}
	return newCFB8(block, iv[:block.BlockSize()]), nil
}

type noCrypt struct{}

func (noCrypt) encrypt([]byte, int) {}
func (noCrypt) decrypt([]byte, int) {}

// xorCrypt is nsca's XOR obfuscation. It restarts at every packet, so the
// combined IV-and-password pad is the same for every packet of a connection
// and can be computed once.
type xorCrypt struct{ pad []byte }

func newXORCrypt(password, iv []byte) *xorCrypt {
	pad := make([]byte, PacketSize)
	for i := range pad {
		pad[i] = iv[i%IVSize]
		if len(password) > 0 {
			pad[i] ^= password[i%len(password)]
		}
	}
	return &xorCrypt{pad: pad}
}

func (x *xorCrypt) encrypt(p []byte, off int) { subtle.XORBytes(p, p, x.pad[off:off+len(p)]) }
func (x *xorCrypt) decrypt(p []byte, off int) { subtle.XORBytes(p, p, x.pad[off:off+len(p)]) }

// cfb8 is libmcrypt's "cfb" mode: 8-bit cipher feedback, one block
// encryption per byte, the shift register being the last block-size bytes of
// ciphertext. Working in a scratch buffer that holds the register followed
// by the packet's ciphertext makes the register for byte i simply
// scratch[i:i+bs]: no shifting at all.
//
// Encryption is sequential by nature: each byte needs the ciphertext of the
// one before. Decryption is not, since all ciphertext is at hand, and with
// no shifting between bytes the CPU overlaps successive block encryptions:
// the receiver decrypts AES about twice as fast as a client encrypts.
type cfb8 struct {
	block   cipher.Block
	bs      int
	reg     []byte // current shift register
	scratch []byte
}

func newCFB8(block cipher.Block, iv []byte) *cfb8 {
	bs := block.BlockSize()
	return &cfb8{block: block, bs: bs, reg: bytes.Clone(iv[:bs]), scratch: make([]byte, bs+PacketSize)}
}

func (c *cfb8) buffer(n int) []byte {
	if cap(c.scratch) < c.bs+n {
		c.scratch = make([]byte, c.bs+n)
	}
	buf := c.scratch[:c.bs+n]
	copy(buf, c.reg)
	return buf
}

func (c *cfb8) encrypt(p []byte, _ int) {
	ct := c.buffer(len(p))
	var out [maxBlockSize]byte
	for i := range p {
		c.block.Encrypt(out[:c.bs], ct[i:i+c.bs])
		p[i] ^= out[0]
		ct[c.bs+i] = p[i]
	}
	copy(c.reg, ct[len(p):])
}

func (c *cfb8) decrypt(p []byte, _ int) {
	ct := c.buffer(len(p))
	copy(ct[c.bs:], p)
	var out [maxBlockSize]byte
	for i := range p {
		c.block.Encrypt(out[:c.bs], ct[i:i+c.bs])
		p[i] = ct[c.bs+i] ^ out[0]
	}
	copy(c.reg, ct[len(p):])
}

const maxBlockSize = 32 // Rijndael-256's block

type blockSpec struct {
	keySize  int
	newBlock func(key []byte) (cipher.Block, error)
}

// blockCiphers maps each mcrypt method to its block cipher, set up the way
// libmcrypt runs it, and the key size libmcrypt reports for it
// (mcrypt_enc_get_key_size). The standard library and x/crypto have the
// first seven; the others are this package's own, each in its file with the
// ways libmcrypt departs from the cipher's specification.
var blockCiphers = map[Method]blockSpec{
	DES:         {8, des.NewCipher},
	TripleDES:   {24, des.NewTripleDESCipher},
	CAST128:     {16, func(k []byte) (cipher.Block, error) { return cast5.NewCipher(k) }},
	XTEA:        {16, func(k []byte) (cipher.Block, error) { return xtea.NewCipher(k) }},
	Blowfish:    {56, func(k []byte) (cipher.Block, error) { return blowfish.NewCipher(k) }},
	Twofish:     {32, func(k []byte) (cipher.Block, error) { return twofish.NewCipher(k) }},
	Rijndael128: {32, aes.NewCipher},
	CAST256:     {32, func(k []byte) (cipher.Block, error) { return newCAST256(k, true) }},
	LOKI97:      {32, func(k []byte) (cipher.Block, error) { return newLOKI97(k, true) }},
	RC2:         {128, func(k []byte) (cipher.Block, error) { return newRC2(k, rc2MaxEffectiveBits) }},
	Rijndael192: {32, func(k []byte) (cipher.Block, error) { return newRijndael(k, 24) }},
	Rijndael256: {32, func(k []byte) (cipher.Block, error) { return newRijndael(k, 32) }},
	Serpent:     {32, func(k []byte) (cipher.Block, error) { return newSerpent(k) }},
	GOST:        {32, func(k []byte) (cipher.Block, error) { return newGOST(k, gostMcryptTables, true) }},
	SAFERPlus:   {32, func(k []byte) (cipher.Block, error) { return newSAFERPlus(k, true) }},
}
