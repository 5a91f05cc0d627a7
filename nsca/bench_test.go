package nsca

import (
	"bytes"
	"context"
	"net"
	"testing"
)

// BenchmarkEncryptPacket measures one v3 packet through each cipher, the
// client's cost per result (and the server's, decryption being symmetric).
func BenchmarkEncryptPacket(b *testing.B) {
	iv := bytes.Repeat([]byte{9}, IVSize)
	for _, m := range implementedMethods() {
		b.Run(m.String(), func(b *testing.B) {
			cr, err := newCrypter(m, []byte("password"), iv)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, PacketSize)
			b.SetBytes(PacketSize)
			for b.Loop() {
				cr.encrypt(buf, 0)
			}
		})
	}
}

// BenchmarkDecryptPacket is the server's side: decryption of a packet whose
// ciphertext is all at hand, so successive block encryptions can overlap.
func BenchmarkDecryptPacket(b *testing.B) {
	iv := bytes.Repeat([]byte{9}, IVSize)
	for _, m := range implementedMethods() {
		b.Run(m.String(), func(b *testing.B) {
			cr, err := newCrypter(m, []byte("password"), iv)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, PacketSize)
			b.SetBytes(PacketSize)
			for b.Loop() {
				cr.decrypt(buf, 0)
			}
		})
	}
}

// BenchmarkServerIntake pushes packets through a real TCP connection into a
// Server whose handler does nothing: the receiver's own ceiling.
func BenchmarkServerIntake(b *testing.B) {
	for _, m := range []Method{XOR, Rijndael128} {
		b.Run(m.String(), func(b *testing.B) {
			got := make(chan struct{}, 1024)
			srv := &Server{Method: m, Password: []byte("pw"), Handler: HandlerFunc(func(context.Context, Received) { got <- struct{}{} })}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go srv.Serve(ctx, ln)
			c, err := (&Dialer{Method: m, Password: []byte("pw")}).Dial(ctx, ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			batch := make([]Packet, 64)
			for i := range batch {
				batch[i] = Packet{Host: "web01", Service: "disk_root", Output: "DISK OK - free space: / 80934MiB | /=12926844928B;;;0;270552530944"}
			}
			b.SetBytes(PacketSize)
			b.ResetTimer()
			sent := 0
			for sent < b.N {
				n := min(len(batch), b.N-sent)
				if _, err := c.SendBatch(ctx, batch[:n]); err != nil {
					b.Fatal(err)
				}
				sent += n
				for range n {
					<-got
				}
			}
		})
	}
}
