package plugins

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The cases Windows users write, and the corners of CommandLineToArgvW's
// rules. internal/wintest runs the same lines through the real
// CommandLineToArgvW under Wine and compares.
var windowsSplitCases = []struct {
	line string
	want []string
}{
	{`C:\plugins\check_x.exe -p C:\temp\x`, []string{`C:\plugins\check_x.exe`, `-p`, `C:\temp\x`}},
	{`$USER1$\check_x.exe -w 80 -c 90`, []string{`$USER1$\check_x.exe`, `-w`, `80`, `-c`, `90`}},
	{`\\server\share\check.exe \\server\share`, []string{`\\server\share\check.exe`, `\\server\share`}},
	{`"C:\Program Files\x\check x.exe" -d "C:\Program Files"`, []string{`C:\Program Files\x\check x.exe`, `-d`, `C:\Program Files`}},
	// A trailing backslash before a closing quote escapes it; doubling it
	// is how a folder is written.
	{`check "C:\dir\" next`, []string{`check`, `C:\dir" next`}},
	{`check "C:\dir\\" next`, []string{`check`, `C:\dir\`, `next`}},
	{`check a\\b a\\\\"b c" \"q\" \\\"x`, []string{`check`, `a\\b`, `a\\b c`, `"q"`, `\"x`}},
	{`check "" x ""`, []string{`check`, ``, `x`, ``}},
	{`check "a""b" c`, []string{`check`, `a"b c`}},
	{`check """" x`, []string{`check`, `" x`}},
	{`check """a b"""`, []string{`check`, `"a`, `b"`}},
	{"  check\t-a\t\t'b c'  ", []string{`check`, `-a`, `'b`, `c'`}},
	{`check a|b c&d <e> %PATH% ^x`, []string{`check`, `a|b`, `c&d`, `<e>`, `%PATH%`, `^x`}},
	// The program name follows its own rules: quotes and backslashes in it
	// are plain characters, and a quoted one ends at the next quote.
	{`C:\a"b c"d`, []string{`C:\a"b`, `cd`}},
	{`"C:\x y\p.exe"arg`, []string{`C:\x y\p.exe`, `arg`}},
	{`"C:\unclosed\p.exe`, []string{`C:\unclosed\p.exe`}},
	{`check "unclosed \"arg`, []string{`check`, `unclosed "arg`}},
	{`check "unclosed `, []string{`check`, `unclosed `}},
	{`check trailing\`, []string{`check`, `trailing\`}},
	{`check ünïcödé "Größe 5"`, []string{`check`, `ünïcödé`, `Größe 5`}},
}

func TestSplitWindows(t *testing.T) {
	for _, tc := range windowsSplitCases {
		got, err := splitWindows(tc.line)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("splitWindows(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", " \t ", "a\x00b"} {
		if got, err := splitWindows(bad); err == nil {
			t.Errorf("splitWindows(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSplitPOSIX(t *testing.T) {
	cases := []struct {
		line string
		want []string
	}{
		{`check_x -w 80% -c '90%' "x y"`, []string{`check_x`, `-w`, `80%`, `-c`, `90%`, `x y`}},
		// The POSIX rules eat backslashes: the reason Windows has its own.
		{`C:\plugins\check_x.exe`, []string{`C:pluginscheck_x.exe`}},
		{`check a\ b '$HOME'`, []string{`check`, `a b`, `$HOME`}},
	}
	for _, tc := range cases {
		got, err := splitPOSIX(tc.line)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("splitPOSIX(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", `check "open`, "check | grep x", "check; rm"} {
		if got, err := splitPOSIX(bad); err == nil {
			t.Errorf("splitPOSIX(%q) = %q, want an error", bad, got)
		}
	}
}

// joinWindows quotes words so that CommandLineToArgvW gives them back, as
// os/exec does on Windows (it is the inverse the fuzz test checks).
func joinWindows(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 {
			b.WriteString(`"` + w + `"`)
			continue
		}
		b.WriteByte('"')
		slashes := 0
		for j := 0; j < len(w); j++ {
			switch w[j] {
			case '\\':
				slashes++
			case '"':
				b.WriteString(strings.Repeat(`\`, slashes+1))
				slashes = 0
			default:
				slashes = 0
			}
			b.WriteByte(w[j])
		}
		b.WriteString(strings.Repeat(`\`, slashes) + `"`)
	}
	return b.String()
}

func FuzzSplitWindows(f *testing.F) {
	for _, tc := range windowsSplitCases {
		f.Add(tc.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := splitWindows(line)
		if strings.Trim(line, " \t") == "" || strings.ContainsRune(line, 0) {
			if err == nil {
				t.Fatalf("splitWindows(%q) = %q, want an error", line, words)
			}
			return
		}
		if err != nil || len(words) == 0 {
			t.Fatalf("splitWindows(%q) = %q, %v", line, words, err)
		}
		// Whatever went in as valid UTF-8 comes out as valid UTF-8: the
		// splitter cuts only at ASCII bytes.
		for _, w := range words {
			if utf8.ValidString(line) && !utf8.ValidString(w) {
				t.Fatalf("splitWindows(%q): word %q is not valid UTF-8", line, w)
			}
		}
		// Without quotes, backslashes are plain characters and words are
		// what lies between spaces and tabs.
		if !strings.Contains(line, `"`) {
			fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
			if !slices.Equal(words, fields) {
				t.Fatalf("splitWindows(%q) = %q, want the fields %q", line, words, fields)
			}
		}
		// Quoting the words as os/exec does gives the same words back,
		// unless the program name holds a quote, which no quoting can pass.
		if !strings.Contains(words[0], `"`) {
			back, err := splitWindows(joinWindows(words))
			if err != nil || !slices.Equal(back, words) {
				t.Fatalf("splitWindows(%q) = %q; quoted as %q it splits into %q, %v", line, words, joinWindows(words), back, err)
			}
		}
	})
}
