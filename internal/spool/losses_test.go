package spool

import (
	"testing"
	"time"
)

// Every way records leave unread is journalled once: what left, which
// cursor had not read how many, and when the records were appended.
func TestLossesJournalAgeAndSize(t *testing.T) {
	clk := newClock()
	s := openT(t, t.TempDir(), Options{MaxAge: time.Hour, MaxBytes: smallSegs, Now: clk.Now})
	start := clk.Now()
	appendN(t, s, 0, 100)
	commitAll(t, s, "slow", 0, "fast", 60)
	clk.Advance(30 * time.Minute)
	appendN(t, s, 100, 100)
	clk.Advance(40 * time.Minute) // the first 100 are now older than an hour
	maintain(s)

	losses, next, missed := s.Losses(0)
	if len(losses) != 1 || next != 1 || missed != 0 {
		t.Fatalf("Losses(0) = %+v, next %d, missed %d; want one event", losses, next, missed)
	}
	l := losses[0]
	if l.Reason != "age" || l.Records != 100 || l.FirstSeq != 1 || l.LastSeq != 100 {
		t.Errorf("loss %+v, want age, 100 records, seqs 1..100", l)
	}
	if l.Cursors["slow"] != 100 || l.Cursors["fast"] != 40 {
		t.Errorf("per cursor %v, want slow 100 and fast 40", l.Cursors)
	}
	if !l.From.Equal(start) || l.To.After(clk.Now().Add(-time.Hour)) || !l.At.Equal(clk.Now()) {
		t.Errorf("times: from %v to %v at %v (appended from %v, cutoff %v)", l.From, l.To, l.At, start, clk.Now().Add(-time.Hour))
	}
	if again, n, _ := s.Losses(next); len(again) != 0 || n != next {
		t.Errorf("Losses(%d) = %v, %d: an event reported twice", next, again, n)
	}

	appendN(t, s, 200, 20000) // past MaxBytes: whole oldest segments go
	losses, _, _ = s.Losses(next)
	if len(losses) == 0 || losses[0].Reason != "bytes" || losses[0].Cursors["slow"] == 0 || losses[0].From.IsZero() {
		t.Errorf("size drop journalled as %+v", losses)
	}
}

// Damage found at open is journalled by that open, so the agent that opened
// the spool can report it.
func TestLossesJournalCorruptionAtOpen(t *testing.T) {
	dir := t.TempDir()
	o := Options{MaxBytes: smallSegs}
	s := openT(t, dir, o)
	appendN(t, s, 0, 3000)
	if err := s.Commit("target", 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	files := segFiles(t, dir)
	offs := frameOffsets(t, files[1])
	patchFile(t, files[1], func(b []byte) []byte { b[offs[len(offs)/2]+frameHeaderSize+3] ^= 1; return b })

	s = openT(t, dir, o)
	losses, _, _ := s.Losses(0)
	if len(losses) != 1 || losses[0].Reason != "corrupt" || losses[0].Cursors["target"] != losses[0].Records || losses[0].Records == 0 {
		t.Fatalf("losses after repair: %+v", losses)
	}
	if got := s.Stats().Cursors["target"].Dropped.Corrupt; got != losses[0].Records {
		t.Errorf("journal says %d, cursor counts %d", losses[0].Records, got)
	}
}

// The journal keeps the newest events; a reader that fell behind learns
// how many it missed.
func TestLossesJournalIsBounded(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	s.mu.Lock()
	for i := range maxLosses + 10 {
		s.noteLossLocked(dropAge, 1, uint64(i+1), uint64(i+1), nil, maxTime)
	}
	s.mu.Unlock()
	losses, next, missed := s.Losses(0)
	if len(losses) != maxLosses || next != maxLosses+10 || missed != 10 {
		t.Errorf("%d events, next %d, missed %d", len(losses), next, missed)
	}
}
