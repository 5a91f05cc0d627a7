package e2e

import (
	"testing"
)

// TestPicketServerNSCAConfig: picket server takes its receiver's settings
// from the nsca daemon's own nsca.cfg, options only the C daemon uses
// (pid_file, nsca_user, debug, ...) included, and replaces the daemon.
func TestPicketServerNSCAConfig(t *testing.T) {
	needE2E(t)
	s := startPicketServerNSCAConfig(t, 14, password)
	results := standardResults()
	r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 14, password), input(results...))
	if r.Code != 0 || r.Stdout != sentOK(len(results)) {
		t.Fatalf("send_nsca: %v", r)
	}
	waitResults(t, "command file", s.CommandFile, results...)
	if line := findLine(s.Log.String(), "no effect on picket", "pid_file", "nsca_user"); line == "" {
		t.Errorf("picket server did not list the nsca.cfg options it ignores; log:\n%s", s.Log.String())
	}
}
