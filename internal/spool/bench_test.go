package spool

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend16 measures durable appends of 300-byte records from 16
// writers, each waiting for its own record to be synced before appending
// the next: the agent's worst case, one result per Append. The figure
// that matters is records/s; the target is 50,000 on the reference
// machine (2 cores, ext4, ~160µs per fdatasync).
func BenchmarkAppend16(b *testing.B) {
	const writers = 16
	s := openT(b, b.TempDir(), Options{})
	rec := make([]byte, 300)
	for i := range rec {
		rec[i] = byte(i)
	}
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if _, err := s.Append(context.Background(), rec); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
