//go:build linux

package wintest

import (
	"strings"
	"testing"
)

// The unit tests of plugins, sysdir and secretfile built for Windows, run
// under Wine: the Windows-only ones meet Wine's real CommandLineToArgvW,
// known-folder API and DACL calls; the rest prove the shared code on
// Windows too.
func TestWindowsUnitTests(t *testing.T) {
	needLane(t)
	for _, tc := range []struct {
		pkg, run string
		want     []string // tests that must have passed
	}{
		{"plugins", ".",
			[]string{"TestSplitWindowsMatchesCommandLineToArgvW", "TestDecodeOutput"}},
		{"internal/sysdir", ".", []string{"TestProgramData"}},
		{"internal/secretfile", ".", []string{"TestJudgeDACL", "TestCheckRealDACL"}},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			r := wine(t, nil, lane.unitExe[tc.pkg], "-test.v", "-test.run", tc.run)
			if r.Code != 0 {
				t.Fatalf("%s's Windows tests failed under Wine: %v", tc.pkg, r)
			}
			for _, name := range tc.want {
				if !strings.Contains(r.Stdout, "--- PASS: "+name+" ") {
					t.Errorf("%s did not pass under Wine:\n%s", name, r.Stdout)
				}
			}
			// What Wine cannot show, the tests say; keep it in this log.
			for _, line := range strings.Split(r.Stdout, "\n") {
				if strings.Contains(line, "Wine") {
					t.Log(strings.TrimSpace(line))
				}
			}
		})
	}
}
