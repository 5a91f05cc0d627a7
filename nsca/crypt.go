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
// encryption per byte. The shift register is a window sliding over a longer
// buffer so that shifting costs one store per byte instead of a block copy.
type cfb8 struct {
	block cipher.Block
	bs    int
	reg   []byte
	pos   int
	out   []byte
}

const cfbWindow = 4096

func newCFB8(block cipher.Block, iv []byte) *cfb8 {
	bs := block.BlockSize()
	c := &cfb8{block: block, bs: bs, reg: make([]byte, bs+cfbWindow), out: make([]byte, bs)}
	copy(c.reg, iv)
	return c
}

func (c *cfb8) push(ct byte) {
	if c.pos+c.bs == len(c.reg) {
		copy(c.reg, c.reg[c.pos:])
		c.pos = 0
	}
	c.reg[c.pos+c.bs] = ct
	c.pos++
}

func (c *cfb8) encrypt(p []byte, _ int) {
	for i := range p {
		c.block.Encrypt(c.out, c.reg[c.pos:c.pos+c.bs])
		p[i] ^= c.out[0]
		c.push(p[i])
	}
}

func (c *cfb8) decrypt(p []byte, _ int) {
	for i := range p {
		c.block.Encrypt(c.out, c.reg[c.pos:c.pos+c.bs])
		ct := p[i]
		p[i] ^= c.out[0]
		c.push(ct)
	}
}

type blockSpec struct {
	keySize  int
	newBlock func(key []byte) (cipher.Block, error)
}

// blockCiphers maps each mcrypt method to a standard block cipher and the key
// size libmcrypt reports for it (mcrypt_enc_get_key_size).
var blockCiphers = map[Method]blockSpec{
	DES:         {8, des.NewCipher},
	TripleDES:   {24, des.NewTripleDESCipher},
	CAST128:     {16, func(k []byte) (cipher.Block, error) { return cast5.NewCipher(k) }},
	XTEA:        {16, func(k []byte) (cipher.Block, error) { return xtea.NewCipher(k) }},
	Blowfish:    {56, func(k []byte) (cipher.Block, error) { return blowfish.NewCipher(k) }},
	Twofish:     {32, func(k []byte) (cipher.Block, error) { return twofish.NewCipher(k) }},
	Rijndael128: {32, aes.NewCipher},
}
