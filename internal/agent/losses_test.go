package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/spool"
	"github.com/picket-monitoring/picket/nsca"
)

// spoolStats opens dir's spool read-only for a look; zero until the agent
// has created it.
func spoolStats(dir string) spool.Stats {
	s, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{ReadOnly: true})
	if err != nil {
		return spool.Stats{}
	}
	defer s.Close()
	return s.Stats()
}

// waitOwn waits for a result of the agent's own service whose output has
// want, and returns it.
func waitOwn(t *testing.T, rcv *receiver, service, want string) nsca.Packet {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rcv.mu.Lock()
		got := append([]nsca.Packet(nil), rcv.got...)
		rcv.mu.Unlock()
		var last string
		for _, p := range got {
			if p.Service == service {
				if last = p.Output; strings.Contains(p.Output, want) {
					return p
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s result saying %q; last: %q", service, want, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Results the spool cut when it repaired itself at start are lost like any
// other: picket_spooler says CRITICAL how many, exactly, and why, although
// the loss happened before the agent could report anything.
func TestRepairAtStartIsReported(t *testing.T) {
	dir := t.TempDir()
	addr := closedAddr(t)
	rest := counterCheck + "\n[health]\nenabled = false\n"
	cfg := writeConfig(t, dir, addr, rest)
	stop := runAgent(t, Options{ConfigPath: cfg})
	deadline := time.Now().Add(20 * time.Second)
	for spoolStats(dir).Records < 8 {
		if time.Now().After(deadline) {
			t.Fatal("results were not spooled")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	// Damage RUN 3 in the middle of the segment: the frames after it still
	// verify, so this is damage to acknowledged results, not a torn write.
	segs, _ := filepath.Glob(filepath.Join(dir, "spool", "*.seg"))
	seg := segs[len(segs)-1]
	data, _ := os.ReadFile(seg)
	i := bytes.Index(data, []byte("RUN 3"))
	if i < 0 {
		t.Fatal("RUN 3 not found in the segment")
	}
	data[i+4] ^= 0x20
	os.WriteFile(seg, data, 0o600)

	rcv := startReceiver(t, addr)
	writeConfig(t, dir, addr, counterCheck)
	stop = runAgent(t, Options{ConfigPath: cfg, StatsEvery: 200 * time.Millisecond})
	defer stop()
	p := waitOwn(t, rcv, "picket_spooler", "damaged on disk")
	cursor := (&config.Target{Address: addr}).Cursor()
	ag, _ := New(Options{ConfigPath: cfg}) // the ledger on disk says the same, once saved
	var events []LossEvent
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if events, _, err = LoadLosses(ag.Config().StateDir); err != nil {
			t.Fatal(err)
		}
		if len(events) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(events) != 1 {
		t.Fatalf("ledger: %+v", events)
	}
	want := fmt.Sprintf("SPOOLER CRITICAL - %d results lost: %d damaged on disk", events[0].Results, events[0].Results)
	if p.ReturnCode != 2 || !strings.HasPrefix(p.Output, want) || events[0].Target != cursor || events[0].Results == 0 {
		t.Errorf("picket_spooler: %d %q\nwant %q... for %s", p.ReturnCode, p.Output, want, cursor)
	}
}
