package signing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// signContextV2 starts every v2 signed message.
const signContextV2 = "picket-externals-v2\x00"

// ErrV1 is a signature in the first format, which has no serial: an older
// file signed that way verifies as well as the current one, so an agent
// refuses it from the network.
var ErrV1 = errors.New("a v1 signature (no serial: an older file could be replayed); picket server signs v2 since identity came in, so upgrade it, or re-sign hand-signed files in the v2 format")

// Signature is a v2 externals signature. Its text form, one line in a
// .sig file or the X-Picket-Signature header, is
//
//	v2 serial=<decimal> [key=<fingerprint>] [next=<fingerprint>] sig=<base64>
//
// Serial grows with every version the server signs for a host, so an agent
// that keeps the highest serial it accepted refuses an older file. Key
// names the signing key (the agent tries every key it trusts when it is
// absent). Next, when the server is rotating its key, names the key it
// rotates to, so an agent that does not trust that one yet can say so
// before the switch.
type Signature struct {
	Serial uint64
	Key    string
	Next   string
	Sig    []byte
}

func messageV2(host string, serial uint64, next string, data []byte) []byte {
	s := strconv.FormatUint(serial, 10)
	m := make([]byte, 0, len(signContextV2)+len(host)+len(s)+len(next)+3+len(data))
	m = append(m, signContextV2...)
	m = append(m, host...)
	m = append(m, 0)
	m = append(m, s...)
	m = append(m, 0)
	m = append(m, next...)
	m = append(m, 0)
	return append(m, data...)
}

// SignExternals signs data as the externals of host, version serial, with
// key; next is the fingerprint of the key the server rotates to ("" when
// it is not rotating), covered by the signature too.
func SignExternals(key ed25519.PrivateKey, host string, serial uint64, next string, data []byte) Signature {
	pub, _ := key.Public().(ed25519.PublicKey)
	return Signature{
		Serial: serial,
		Key:    Fingerprint(pub),
		Next:   next,
		Sig:    ed25519.Sign(key, messageV2(host, serial, next, data)),
	}
}

// String is the signature's text form, without a line break.
func (s Signature) String() string {
	var b strings.Builder
	b.WriteString("v2 serial=")
	b.WriteString(strconv.FormatUint(s.Serial, 10))
	if s.Key != "" {
		b.WriteString(" key=" + s.Key)
	}
	if s.Next != "" {
		b.WriteString(" next=" + s.Next)
	}
	b.WriteString(" sig=" + base64.StdEncoding.EncodeToString(s.Sig))
	return b.String()
}

// File is the content of a .sig file: the text form and a newline.
func (s Signature) File() []byte { return []byte(s.String() + "\n") }

// ParseSignature reads a v2 signature's text form (surrounding whitespace
// ignored). A v1 signature is refused with ErrV1.
func ParseSignature(text []byte) (Signature, error) {
	t := string(bytes.TrimSpace(text))
	if t == "" {
		return Signature{}, errors.New("signature is empty")
	}
	rest, ok := strings.CutPrefix(t, "v2 ")
	if !ok {
		if raw, err := base64.StdEncoding.DecodeString(t); err == nil && len(raw) == ed25519.SignatureSize {
			return Signature{}, ErrV1
		}
		return Signature{}, fmt.Errorf("signature %q: not a v2 signature line (\"v2 serial=N ... sig=BASE64\")", truncate(t, 40))
	}
	var s Signature
	seen := map[string]bool{}
	for _, f := range strings.Fields(rest) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" || seen[k] {
			return Signature{}, fmt.Errorf("signature: field %q: want key=value, each key once", truncate(f, 40))
		}
		seen[k] = true
		switch k {
		case "serial":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return Signature{}, fmt.Errorf("signature: serial %q is not a whole number", truncate(v, 30))
			}
			s.Serial = n
		case "key":
			s.Key = v
		case "next":
			s.Next = v
		case "sig":
			raw, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return Signature{}, fmt.Errorf("signature is not standard base64: %w", err)
			}
			if len(raw) != ed25519.SignatureSize {
				return Signature{}, fmt.Errorf("signature is %d bytes, not %d", len(raw), ed25519.SignatureSize)
			}
			s.Sig = raw
		default:
			// A field a later version adds would change what is signed;
			// ignoring it would verify something else than was meant.
			return Signature{}, fmt.Errorf("signature: unknown field %q", truncate(k, 20))
		}
	}
	if !seen["serial"] || s.Sig == nil {
		return Signature{}, errors.New("signature: serial and sig are required")
	}
	return s, nil
}

// Verify checks s over data as the externals of host against keys, the
// keys the agent trusts, and returns the one that verified. When s names
// its key, only a trusted key with that fingerprint is tried.
func (s Signature) Verify(keys []ed25519.PublicKey, host string, data []byte) (ed25519.PublicKey, error) {
	if len(keys) == 0 {
		return nil, errors.New("no public key to verify the signature with")
	}
	msg := messageV2(host, s.Serial, s.Next, data)
	named := false
	for _, k := range keys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("public key is %d bytes, not %d", len(k), ed25519.PublicKeySize)
		}
		if s.Key != "" && Fingerprint(k) != s.Key {
			continue
		}
		named = true
		if ed25519.Verify(k, msg, s.Sig) {
			return k, nil
		}
	}
	if s.Key != "" && !named {
		return nil, fmt.Errorf("signed with key %s, which is not among the trusted public keys", s.Key)
	}
	return nil, fmt.Errorf("signature does not match: the file changed after it was signed, was signed for another host than %s, or with another key than %s", host, fingerprints(keys))
}

func fingerprints(keys []ed25519.PublicKey) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = Fingerprint(k)
	}
	return strings.Join(out, ", ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
