// Package compare measures the picket spool against the two libraries it
// could have been built on, go.etcd.io/bbolt and github.com/tidwall/wal,
// on the two figures that decided it (see ../FORMAT.md, "Why hand-written
// segments"):
//
//   - durable appends per second with 16 concurrent writers, each
//     appending one 300-byte record at a time and waiting until it is
//     synced; both libraries get the same group commit as the spool (one
//     transaction or batch per group of waiting writers);
//   - growth of the process's resident memory (VmRSS, sampled) while
//     reading back 1,000,000 records of 300 bytes in order.
//
// It is a module of its own so that picket itself does not depend on
// either library. Run it with
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 20m
package compare

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/tidwall/wal"
	bolt "go.etcd.io/bbolt"
)

const (
	writers     = 16
	recordSize  = 300
	appendTotal = 100_000 // records per append run, across all writers
	readTotal   = 1_000_000
	fillBatch   = 10_000
)

// store is one candidate.
type store interface {
	// Append stores one record durably; called from many goroutines.
	Append(rec []byte) error
	// Fill stores n records quickly, durability aside, before a read run.
	Fill(n int, rec []byte) error
	// ReadAll reads every record in order and returns how many it read.
	ReadAll() (int, error)
	Close() error
}

type candidate struct {
	name string
	open func(dir string) (store, error)
}

var candidates = []candidate{
	{"picket spool", openSpool},
	{"bbolt v1.5.0, one Update per group", openBolt},
	{"tidwall/wal v1.2.1, one WriteBatch per group", openWAL},
}

type result struct {
	appendsPerSec float64
	reads         []readRun // one per repetition
	diskBytes     int64
}

// readRun is one read of every record: VmRSS growth (peak minus before)
// and the part of it that is file-backed pages (RssFile), which is where
// an mmap reader's growth shows.
type readRun struct {
	rss, file int64
	took      time.Duration
}

// appendRepeats: sync times vary from run to run; the table shows the
// median of three.
const appendRepeats = 3

// readRepeats: the Go heap makes RSS noisy, so each read is done three
// times and the table shows the median and the range.
const readRepeats = 3

func BenchmarkCompare(b *testing.B) {
	results := make([]result, len(candidates))
	for i, c := range candidates {
		b.Run(c.name+"/append16", func(b *testing.B) {
			var runs []float64
			for range appendRepeats {
				r, err := measureAppends(b.TempDir(), c.open)
				if err != nil {
					b.Fatal(err)
				}
				runs = append(runs, r)
			}
			slices.Sort(runs)
			results[i].appendsPerSec = runs[len(runs)/2]
			b.ReportMetric(results[i].appendsPerSec, "appends/s")
		})
		b.Run(c.name+"/read1M", func(b *testing.B) {
			runs, disk, err := measureRead(b.TempDir(), c.open)
			if err != nil {
				b.Fatal(err)
			}
			results[i].reads, results[i].diskBytes = runs, disk
			b.ReportMetric(mb(median(runs).rss), "MB-RSS-growth")
		})
	}
	var baseline []readRun
	b.Run("baseline/read1M", func(b *testing.B) {
		for range readRepeats {
			baseline = append(baseline, sampleRSS(func() (int, error) { return allocLikeARead(), nil }))
		}
		b.ReportMetric(mb(median(baseline).rss), "MB-RSS-growth")
	})
	printTable(results, baseline)
}

// measureAppends runs 16 writers that each append one record and wait.
func measureAppends(dir string, open func(string) (store, error)) (float64, error) {
	s, err := open(dir)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	rec := record()
	var left atomic.Int64
	left.Store(appendTotal)
	errs := make(chan error, writers)
	start := time.Now()
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := s.Append(rec); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return appendTotal / elapsed.Seconds(), nil
}

// measureRead fills a store with a million records, then opens it and
// reads them all back, readRepeats times, sampling VmRSS.
func measureRead(dir string, open func(string) (store, error)) ([]readRun, int64, error) {
	s, err := open(dir)
	if err != nil {
		return nil, 0, err
	}
	if err := s.Fill(readTotal, record()); err != nil {
		s.Close()
		return nil, 0, err
	}
	if err := s.Close(); err != nil {
		return nil, 0, err
	}
	disk := dirSize(dir)
	var runs []readRun
	for range readRepeats {
		s, err := open(dir)
		if err != nil {
			return nil, 0, err
		}
		var readErr error
		run := sampleRSS(func() (int, error) {
			n, err := s.ReadAll()
			readErr = err
			return n, err
		})
		if err := s.Close(); err != nil {
			return nil, 0, err
		}
		if readErr != nil {
			return nil, 0, readErr
		}
		if run.took < 0 {
			return nil, 0, fmt.Errorf("read too few records")
		}
		runs = append(runs, run)
	}
	return runs, disk, nil
}

// sampleRSS runs read, sampling VmRSS and RssFile every 2ms, and returns
// the growth of each over what they were just before (after a GC that
// hands freed memory back to the OS).
func sampleRSS(read func() (int, error)) readRun {
	runtime.GC()
	debug.FreeOSMemory()
	rss0, file0 := rssNow()
	peakRSS, peakFile := rss0, file0
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			r, f := rssNow()
			peakRSS, peakFile = max(peakRSS, r), max(peakFile, f)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	n, err := read()
	took := time.Since(start)
	close(stop)
	<-sampled
	if err == nil && n != readTotal {
		took = -1
	}
	return readRun{rss: peakRSS - rss0, file: peakFile - file0, took: took}
}

// allocLikeARead allocates what a million-record read returns (records of
// 300 bytes in batches of 1000, each batch in one buffer) without any
// store: the Go heap's own share of RSS growth, for comparison.
func allocLikeARead() int {
	type rec struct {
		seq  uint64
		at   time.Time
		data []byte
	}
	src := record()
	n := 0
	for n < readTotal {
		batch := make([]rec, 0, 1000)
		buf := make([]byte, 0, 1000*recordSize)
		for range 1000 {
			buf = append(buf, src...)
			batch = append(batch, rec{uint64(n), time.Unix(0, int64(n)), buf[len(buf)-recordSize:]})
			n++
		}
		keep = batch
	}
	return n
}

var keep any

func median(runs []readRun) readRun {
	s := slices.Clone(runs)
	slices.SortFunc(s, func(a, b readRun) int { return cmp.Compare(a.rss, b.rss) })
	return s[len(s)/2]
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func record() []byte {
	rec := make([]byte, recordSize)
	for i := range rec {
		rec[i] = byte('a' + i%26)
	}
	return rec
}

// rssNow returns VmRSS and its file-backed part RssFile, in bytes.
func rssNow() (rss, file int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		panic(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "RssFile:":
			file = kb << 10
		}
	}
	return rss, file
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func printTable(rs []result, baseline []readRun) {
	fmt.Printf("\n%s, %d cores, %s %s/%s\n\n", cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("| store | appends/s, %d writers | VmRSS growth reading %d records: median (range) | of which file-backed | read time | files after fill |\n", writers, readTotal)
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
	row := func(name, appends, disk string, runs []readRun) {
		m := median(runs)
		lo, hi := runs[0].rss, runs[0].rss
		for _, r := range runs {
			lo, hi = min(lo, r.rss), max(hi, r.rss)
		}
		fmt.Printf("| %s | %s | %.1f MB (%.1f-%.1f) | %.1f MB | %.2f s | %s |\n",
			name, appends, mb(m.rss), mb(lo), mb(hi), mb(m.file), m.took.Seconds(), disk)
	}
	for i, c := range candidates {
		row(c.name, fmt.Sprintf("%.0f", rs[i].appendsPerSec), fmt.Sprintf("%.0f MB", mb(rs[i].diskBytes)), rs[i].reads)
	}
	row("baseline: allocating what a read returns, no store", "-", "-", baseline)
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown cpu"
}

// --- picket spool

type spoolStore struct{ s *spool.Spool }

func openSpool(dir string) (store, error) {
	s, err := spool.Open(dir, spool.Options{MaxBytes: 1 << 30})
	return spoolStore{s}, err
}

func (p spoolStore) Append(rec []byte) error {
	_, err := p.s.Append(context.Background(), rec)
	return err
}

func (p spoolStore) Fill(n int, rec []byte) error {
	batch := make([][]byte, 0, 1000)
	for i := 0; i < n; i += len(batch) {
		batch = batch[:0]
		for len(batch) < 1000 && i+len(batch) < n {
			batch = append(batch, rec)
		}
		if _, err := p.s.Append(context.Background(), batch...); err != nil {
			return err
		}
	}
	return nil
}

func (p spoolStore) ReadAll() (int, error) {
	var after uint64
	n := 0
	for {
		recs, err := p.s.Read(context.Background(), after, 1000)
		if err != nil || recs == nil {
			return n, err
		}
		n += len(recs)
		after = recs[len(recs)-1].Seq
	}
}

func (p spoolStore) Close() error { return p.s.Close() }

// --- group commit for the libraries, the same policy as the spool's:
// everything waiting goes into one transaction, and a group is held open
// up to 200µs for callers already inside Append.

type groupReq struct {
	rec  []byte
	err  error
	done chan struct{}
}

type grouper struct {
	commit   func([]*groupReq) error
	mu       sync.Mutex
	queue    []*groupReq
	inside   atomic.Int64
	kick     chan struct{}
	stop     chan struct{}
	finished chan struct{}
}

func newGrouper(commit func([]*groupReq) error) *grouper {
	g := &grouper{commit: commit, kick: make(chan struct{}, 1), stop: make(chan struct{}), finished: make(chan struct{})}
	go g.loop()
	return g
}

func (g *grouper) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

func (g *grouper) Append(rec []byte) error {
	g.inside.Add(1)
	defer func() { g.inside.Add(-1); g.wake() }()
	r := &groupReq{rec: rec, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, r)
	g.mu.Unlock()
	g.wake()
	<-r.done
	return r.err
}

func (g *grouper) take(group []*groupReq) []*groupReq {
	g.mu.Lock()
	defer g.mu.Unlock()
	group = append(group, g.queue...)
	g.queue = g.queue[:0]
	return group
}

func (g *grouper) loop() {
	defer close(g.finished)
	for {
		select {
		case <-g.stop:
			return
		case <-g.kick:
		}
		for group := g.take(nil); len(group) > 0; group = g.take(nil) {
			timer := time.NewTimer(200 * time.Microsecond)
		gather:
			for int64(len(group)) < g.inside.Load() {
				select {
				case <-g.kick:
					group = g.take(group)
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
			err := g.commit(group)
			for _, r := range group {
				r.err = err
				close(r.done)
			}
		}
	}
}

func (g *grouper) Close() {
	close(g.stop)
	<-g.finished
}

// --- bbolt

type boltStore struct {
	db  *bolt.DB
	seq uint64 // owned by the grouper's goroutine
	g   *grouper
}

var bucket = []byte("spool")

func openBolt(dir string) (store, error) {
	db, err := bolt.Open(filepath.Join(dir, "spool.db"), 0o600, nil)
	if err != nil {
		return nil, err
	}
	s := &boltStore{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err == nil {
			s.seq = b.Sequence()
		}
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	s.g = newGrouper(s.commit)
	return s, nil
}

func (s *boltStore) commit(group []*groupReq) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		b.FillPercent = 1 // keys only ever grow: pack pages full
		for _, r := range group {
			s.seq++
			if err := b.Put(binary.BigEndian.AppendUint64(nil, s.seq), r.rec); err != nil {
				return err
			}
		}
		return b.SetSequence(s.seq)
	})
}

func (s *boltStore) Append(rec []byte) error { return s.g.Append(rec) }

func (s *boltStore) Fill(n int, rec []byte) error {
	s.db.NoSync = true
	defer func() { s.db.NoSync = false }()
	for i := 0; i < n; i += fillBatch {
		group := make([]*groupReq, min(fillBatch, n-i))
		for j := range group {
			group[j] = &groupReq{rec: rec}
		}
		if err := s.commit(group); err != nil {
			return err
		}
	}
	return s.db.Sync()
}

func (s *boltStore) ReadAll() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) != recordSize {
				return fmt.Errorf("record %x is %d bytes", k, len(v))
			}
			n++
		}
		return nil
	})
	return n, err
}

func (s *boltStore) Close() error {
	s.g.Close()
	return s.db.Close()
}

// --- tidwall/wal

type walStore struct {
	dir  string
	log  *wal.Log
	next uint64 // owned by the grouper's goroutine
	g    *grouper
}

func openWAL(dir string) (store, error) {
	return openWALWith(dir, nil)
}

func openWALWith(dir string, o *wal.Options) (*walStore, error) {
	l, err := wal.Open(filepath.Join(dir, "wal"), o)
	if err != nil {
		return nil, err
	}
	last, err := l.LastIndex()
	if err != nil {
		l.Close()
		return nil, err
	}
	s := &walStore{dir: dir, log: l, next: last + 1}
	s.g = newGrouper(s.commit)
	return s, nil
}

func (s *walStore) commit(group []*groupReq) error {
	var b wal.Batch
	for _, r := range group {
		b.Write(s.next, r.rec)
		s.next++
	}
	return s.log.WriteBatch(&b)
}

func (s *walStore) Append(rec []byte) error { return s.g.Append(rec) }

// Fill writes without syncing each batch, through a handle opened with
// NoSync, syncs once, and reopens with the default options.
func (s *walStore) Fill(n int, rec []byte) error {
	dir := s.dir
	if err := s.Close(); err != nil {
		return err
	}
	o := *wal.DefaultOptions
	o.NoSync = true
	fast, err := openWALWith(dir, &o)
	if err != nil {
		return err
	}
	for i := 0; i < n; i += fillBatch {
		group := make([]*groupReq, min(fillBatch, n-i))
		for j := range group {
			group[j] = &groupReq{rec: rec}
		}
		if err := fast.commit(group); err != nil {
			fast.Close()
			return err
		}
	}
	if err := fast.log.Sync(); err != nil {
		fast.Close()
		return err
	}
	if err := fast.Close(); err != nil {
		return err
	}
	again, err := openWALWith(dir, nil)
	if err != nil {
		return err
	}
	*s = *again
	return nil
}

func (s *walStore) ReadAll() (int, error) {
	first, err := s.log.FirstIndex()
	if err != nil {
		return 0, err
	}
	last, err := s.log.LastIndex()
	if err != nil {
		return 0, err
	}
	n := 0
	for i := first; i <= last && first > 0; i++ {
		v, err := s.log.Read(i)
		if err != nil {
			return n, err
		}
		if len(v) != recordSize {
			return n, fmt.Errorf("record %d is %d bytes", i, len(v))
		}
		n++
	}
	return n, nil
}

func (s *walStore) Close() error {
	if s.g != nil {
		s.g.Close()
		s.g = nil
	}
	return s.log.Close()
}
