package spool

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	crashChildEnv = "PICKET_SPOOL_CRASH_DIR"
	crashRoundEnv = "PICKET_SPOOL_CRASH_ROUND"
	crashWriters  = 16
	crashRounds   = 20
	// Small enough that segments roll during the test, large enough that
	// nothing a round acknowledges is dropped before it is checked.
	crashMaxBytes = 32 << 20
)

type crashID struct{ round, writer, n int }

// crashRecord is the content of record n of one writer in one round:
// a readable prefix naming it, then filler of a length and content that
// follow from it, so any record can be checked on its own.
func crashRecord(id crashID) []byte {
	b := fmt.Appendf(nil, "%d/%d/%d|", id.round, id.writer, id.n)
	h := fnv.New64a()
	h.Write(b)
	x := h.Sum64()
	for range int(x % 700) {
		x = x*6364136223846793005 + 1442695040888963407
		b = append(b, byte(x>>56))
	}
	return b
}

func parseCrashRecord(b []byte) (crashID, bool) {
	var id crashID
	head, _, ok := bytes.Cut(b, []byte("|"))
	if !ok {
		return id, false
	}
	if _, err := fmt.Sscanf(string(head), "%d/%d/%d", &id.round, &id.writer, &id.n); err != nil {
		return id, false
	}
	return id, bytes.Equal(b, crashRecord(id))
}

// crashChild is the process the crash test kills: it appends from
// crashWriters goroutines as fast as it can and prints each seq once
// Append has returned for it.
func crashChild(dir string) int {
	round, _ := strconv.Atoi(os.Getenv(crashRoundEnv))
	s, err := Open(dir, Options{MaxBytes: crashMaxBytes})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var out sync.Mutex
	for w := range crashWriters {
		go func() {
			for n := 0; ; n++ {
				seq, err := s.Append(context.Background(), crashRecord(crashID{round, w, n}))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "%d %d %d\n", seq, w, n)
				out.Unlock()
			}
		}()
	}
	select {}
}

// TestCrashKill9 kills a writing process at random moments, 20 times on
// one directory, and checks after each kill that every acknowledged record
// is there, once, with its content, and that the whole log reads back in
// order.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills 20 processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	dir := t.TempDir()
	acked := map[uint64]crashID{}
	repairs := 0
	for round := range crashRounds {
		kill := 5*time.Millisecond + time.Duration(rng.Int64N(int64(295*time.Millisecond)))
		lines, stderr := runAndKill(t, dir, round, kill)
		if stderr != "" {
			t.Fatalf("round %d: child failed: %s", round, stderr)
		}
		got := 0
		for _, l := range lines {
			var seq uint64
			id := crashID{round: round}
			if _, err := fmt.Sscanf(l, "%d %d %d", &seq, &id.writer, &id.n); err != nil {
				t.Fatalf("round %d: child printed %q", round, l)
			}
			if prev, dup := acked[seq]; dup {
				t.Fatalf("round %d: seq %d acknowledged twice, for %v and %v", round, seq, prev, id)
			}
			acked[seq] = id
			got++
		}

		var logs logBuf
		s, err := Open(dir, Options{MaxBytes: crashMaxBytes, Logger: logs.logger()})
		if err != nil {
			t.Fatalf("round %d: Open after kill -9: %v", round, err)
		}
		if bytes.Contains([]byte(logs.String()), []byte("cut a segment")) {
			repairs++
		}
		seen := map[crashID]uint64{}
		recs := readAll(t, s, 0)
		for _, r := range recs {
			id, ok := parseCrashRecord(r.Data)
			if !ok {
				t.Fatalf("round %d: seq %d holds a record that is not one the child wrote: %.40q", round, r.Seq, r.Data)
			}
			if prev, dup := seen[id]; dup {
				t.Fatalf("round %d: %v stored twice, at seqs %d and %d", round, id, prev, r.Seq)
			}
			seen[id] = r.Seq
		}
		first := s.Stats().FirstSeq
		s.Close()
		for seq, id := range acked {
			if seq < first {
				continue // dropped by MaxBytes: only old rounds
			}
			if at, ok := seen[id]; !ok || at != seq {
				t.Fatalf("round %d: acknowledged seq %d (%v) is missing or moved (found at %d)", round, seq, id, at)
			}
		}
		t.Logf("round %d: killed after %v; %d acknowledged, %d records in the log", round, kill, got, len(recs))
	}
	if len(acked) == 0 {
		t.Fatal("no append was ever acknowledged: the test tested nothing")
	}
	t.Logf("%d acknowledged records checked; %d opens repaired a torn tail", len(acked), repairs)
}

// runAndKill starts the child on dir, SIGKILLs it after d and returns the
// lines it printed.
func runAndKill(t *testing.T, dir string, round int, d time.Duration) (lines []string, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	read := make(chan []string)
	go func() {
		var ls []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ls = append(ls, sc.Text())
		}
		read <- ls
	}()
	// Real time on purpose: the point is to land the kill at an
	// arbitrary moment of the child's work.
	time.Sleep(d)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	lines = <-read
	cmd.Wait()
	return lines, errb.String()
}
