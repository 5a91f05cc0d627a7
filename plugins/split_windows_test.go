package plugins

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// splitWindows against the real CommandLineToArgvW, on the table's lines
// and on random lines made of the characters its rules care about.
// internal/wintest runs this under Wine on every `make test`; on Windows
// itself it runs as a plain unit test.
func TestSplitWindowsMatchesCommandLineToArgvW(t *testing.T) {
	lines := []string{}
	for _, tc := range windowsSplitCases {
		lines = append(lines, strings.TrimLeft(tc.line, " \t"))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{`\`, `"`, ` `, "\t", `a`, `b`, `ä`, `C:`, `|`, `'`}
	for range 3000 {
		var b strings.Builder
		b.WriteString("p")
		for range rng.IntN(14) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		if rng.IntN(4) == 0 { // a quoted program name now and then
			lines = append(lines, `"C:\x y\`+b.String())
		}
		lines = append(lines, b.String())
	}
	for _, line := range lines {
		want, err := windows.DecomposeCommandLine(line)
		if err != nil {
			t.Fatalf("CommandLineToArgvW(%q): %v", line, err)
		}
		got, err := splitWindows(line)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitWindows(%q) = %q, %v; CommandLineToArgvW gives %q", line, got, err, want)
		}
	}
}
