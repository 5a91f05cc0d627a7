package e2e

import (
	"fmt"
	"testing"
)

// maxLegacyOutput is what a 720-byte NSCA 2.7 packet carries of the output.
const maxLegacyOutput = 511

// TestLegacyPicketSendToNSCA sends 720-byte packets into the real nsca. nsca
// 2.10 recognises a legacy packet only when the client hangs up after
// exactly 720 bytes, so it takes one per connection: one picket send per
// record here.
func TestLegacyPicketSendToNSCA(t *testing.T) {
	needE2E(t)
	for _, c := range []cipher{{1, "xor"}, {14, "rijndael128"}} {
		t.Run(fmt.Sprintf("%d-%s", c.Method, c.Name), func(t *testing.T) {
			n := startNSCA(t, c.Method, password)
			cfg := sendNSCAConfig(t, c.Method, password)
			long := bigOutput(600)
			sent := []checkResult{
				{Host: "old01", Service: "Load", RC: 0, Output: "OK - load average: 0.01, 0.02, 0.00|load1=0.01"},
				{Host: "old01", RC: 0, Output: "PING OK - rta 0.1 ms"},
				{Host: "old02", Service: "Log", RC: 1, Output: "2 errors\nC:\\logs\\app.log: disk full"},
				{Host: "old02", Service: "long", RC: 2, Output: long},
			}
			want := append([]checkResult(nil), sent...)
			want[3].Output = long[:maxLegacyOutput]
			for i, r := range sent {
				res := runPicketSend(t, input(r), sendArgs(n.Port, cfg, "--legacy")...)
				if res.Code != 0 || res.Stdout != sentOK(1) {
					t.Fatalf("picket send --legacy, record %d: %v", i+1, res)
				}
				// Wait for each line, so that a lost packet shows as the
				// record it was.
				waitLines(t, n.CommandFile, i+1)
			}
			waitResults(t, "nsca command file", n.CommandFile, want...)
		})
	}
}

// TestLegacySendNSCAToPicketServer sends several legacy packets in one
// send_nsca connection; picket server, unlike nsca, takes them all.
func TestLegacySendNSCAToPicketServer(t *testing.T) {
	needE2E(t)
	for _, c := range []cipher{{1, "xor"}, {14, "rijndael128"}} {
		t.Run(fmt.Sprintf("%d-%s", c.Method, c.Name), func(t *testing.T) {
			s := startPicketServer(t, picketServerConfig{Encryption: c.Name, Password: password})
			long := bigOutput(600)
			sent := []checkResult{
				{Host: "old01", Service: "Load", RC: 0, Output: "OK - load average: 0.01|load1=0.01"},
				{Host: "old01", RC: 0, Output: "PING OK - rta 0.1 ms"},
				{Host: "old02", Service: "Log", RC: 1, Output: "2 errors\nC:\\logs\\app.log: disk full"},
				{Host: "old02", Service: "long", RC: 2, Output: long},
				{Host: "old03", Service: "Swap", RC: 3, Output: "UNKNOWN"},
			}
			want := append([]checkResult(nil), sent...)
			want[3].Output = long[:maxLegacyOutput]
			r := runSendNSCA(t, s.Port, sendNSCAConfig(t, c.Method, password), input(sent...), "--legacy-2-7-mode")
			if r.Code != 0 || r.Stdout != sentOK(len(sent)) {
				t.Fatalf("send_nsca --legacy-2-7-mode: %v", r)
			}
			waitResults(t, "picket server command file", s.CommandFile, want...)
		})
	}
}
