package spooler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/nsca"
)

// BenchmarkDrain sends 100,000 spooled results from the in-memory Log to an
// in-process nsca.Server without encryption: the spooler's own cost per
// result (decode, policy, packet, dial and confirm per batch, commit),
// with the receiver on the same cores. Each iteration drains the whole Log
// through a new cursor. The peer, bare-client, is the nsca client alone
// sending the same results, already rendered, over one connection: what
// the wire and the receiver allow.
func BenchmarkDrain(b *testing.B) {
	var cursors atomic.Int64 // a new cursor per drain, across -count runs
	const records = 100_000
	log := &memLog{}
	t0 := time.Now()
	for i := range records {
		log.add(b, check.Result{Host: "web01", Service: fmt.Sprintf("svc%03d", i%500), State: check.OK,
			Output: "DISK OK - free space: / 80934MiB", Perfdata: []check.Perf{{Label: "/", Value: 12926844928, UOM: "B"}},
			CheckTime: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	b.Run("bare-client", func(b *testing.B) {
		rcv := startReceiver(b, "127.0.0.1:0", nsca.None)
		recs, _ := log.Read(context.Background(), 0, records)
		ps := make([]nsca.Packet, len(recs))
		for i, rec := range recs {
			var r check.Result
			if err := r.UnmarshalBinary(rec.Data); err != nil {
				b.Fatal(err)
			}
			ps[i] = nsca.Packet{Host: r.Host, Service: r.Service, Output: r.PluginOutput()}
		}
		d := &nsca.Dialer{Method: nsca.None}
		for b.Loop() {
			c, err := d.Dial(context.Background(), rcv.addr)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.SendBatch(context.Background(), ps); err != nil {
				b.Fatal(err)
			}
			c.Close()
			waitFor(b, "the receiver to read everything", func() bool { return rcv.count() == records })
			rcv.mu.Lock()
			rcv.got = rcv.got[:0]
			rcv.mu.Unlock()
		}
		b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "packets/s")
	})
	for _, batch := range []int{100, DefaultBatchSize, 2000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			rcv := startReceiver(b, "127.0.0.1:0", nsca.None)
			b.ReportAllocs()
			for b.Loop() {
				s, err := New(Options{Log: log, BatchSize: batch, Logger: quiet(),
					Targets: []Target{tgt(fmt.Sprint("bench", cursors.Add(1)), rcv.addr)}})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
				// Each batch was confirmed read, so the receiver has it all.
				rcv.mu.Lock()
				got := len(rcv.got)
				rcv.got = rcv.got[:0]
				rcv.mu.Unlock()
				if got != records {
					b.Fatalf("receiver has %d packets, want %d", got, records)
				}
			}
			b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkCipherBatch sends one default batch through each cipher into an
// in-process nsca.Server, dial and confirmation included: what
// DefaultBatchSize costs on the slowest cipher (3DES here), against the
// send timeout.
func BenchmarkCipherBatch(b *testing.B) {
	ps := make([]Item, DefaultBatchSize)
	for i := range ps {
		ps[i] = Item{Result: check.Result{Host: "web01", Service: fmt.Sprintf("svc%d", i%50),
			Output: "DISK OK - free space: / 80934MiB", CheckTime: time.Now(),
			Perfdata: []check.Perf{{Label: "/", Value: 12926844928, UOM: "B", Min: "0", Max: "270552530944"}}}}
	}
	for m := nsca.Method(0); m <= 26; m++ {
		if !m.Implemented() {
			continue
		}
		b.Run(m.String(), func(b *testing.B) {
			rcv := startReceiver(b, "127.0.0.1:0", m)
			d := NSCA(&nsca.Dialer{Method: m, Password: []byte("secret")})
			for b.Loop() {
				c, err := d.Dial(context.Background(), rcv.addr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.SendBatch(context.Background(), ps); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			b.ReportMetric(float64(b.N*len(ps))/b.Elapsed().Seconds(), "packets/s")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/batch")
			if got := rcv.srv.Stats().Packets; got != uint64(b.N*len(ps)) {
				b.Errorf("receiver took %d packets, want %d", got, b.N*len(ps))
			}
			b.Logf("%d cores", runtime.NumCPU())
		})
	}
}

// BenchmarkSendOnChange: what sending only changes saves, as Pandora's
// capacity study measures it: 1,000 mostly stable checks at 1 minute,
// sent "always" and with send = "change" (heartbeat 15m, the default, and
// 24h), at three state-change rates (each check changes state, on average,
// 0.1, 1 or 24 times a day), into an in-process NSCA receiver. Two hours
// are spooled and sent; the second is counted, so the first result of each
// check after the start (always sent) does not count: results per hour and
// bytes on the wire (4,304 per v3 packet; the 132-byte init packet per
// connection is counted for the whole run, halved).
func BenchmarkSendOnChange(b *testing.B) {
	const checks = 1000
	for _, perDay := range []float64{0.1, 1, 24} {
		for _, mode := range []struct {
			name      string
			heartbeat time.Duration
		}{{"always", 0}, {"change-15m", 15 * time.Minute}, {"change-24h", 24 * time.Hour}} {
			b.Run(fmt.Sprintf("%g-changes-a-day/%s", perDay, mode.name), func(b *testing.B) {
				var packets, conns uint64
				for b.Loop() {
					packets, conns = sendHour(b, checks, perDay, mode.heartbeat)
				}
				bytes := packets*nsca.PacketSize + conns/2*nsca.InitPacketSize
				b.ReportMetric(float64(packets), "results/h")
				b.ReportMetric(float64(bytes), "bytes/h")
				fmt.Printf("send-on-change: %d checks at 1m, %g state changes a day each, send=%s: %d results an hour (of %d checked), %d bytes on the wire\n",
					checks, perDay, mode.name, packets, checks*60, bytes)
			})
		}
	}
}

// sendHour spools two hours of results, sends them, and returns the
// packets of the second hour and the connections of both.
func sendHour(b *testing.B, checks int, perDay float64, heartbeat time.Duration) (packets, conns uint64) {
	const minutes = 120
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, uint64(perDay*1000)))
	p := perDay / (24 * 60) // chance of a change at each run
	log := &memLog{}
	states := make([]check.State, checks)
	for m := range minutes {
		for c := range checks {
			if rng.Float64() < p {
				states[c] = (states[c] + 2) % 4 // OK <-> CRITICAL
			}
			log.add(b, check.Result{Host: fmt.Sprintf("host%03d", c/10), Service: fmt.Sprintf("svc%d", c%10),
				State: states[c], Output: fmt.Sprintf("minute %d", m),
				CheckTime: t0.Add(time.Duration(m)*time.Minute + time.Duration(c)*time.Millisecond)})
		}
	}
	rcv := startReceiver(b, "127.0.0.1:0", nsca.None)
	o := Options{Log: log, ReplayWindow: 24 * time.Hour, Targets: []Target{tgt("g", rcv.addr)},
		Now: func() time.Time { return t0.Add(minutes * time.Minute) }}
	if heartbeat > 0 {
		o.Policy = func(check.Key) SendPolicy { return SendPolicy{OnChange: true, Heartbeat: heartbeat} }
	}
	s := mustNew(b, o)
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, pk := range rcv.packets() {
		var m int
		if _, err := fmt.Sscanf(pk.Output, "minute %d", &m); err == nil && m >= 60 {
			packets++
		}
	}
	return packets, rcv.srv.Stats().Connections
}
