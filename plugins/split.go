package plugins

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mattn/go-shellwords"
)

// Both splitters are compiled on every OS, so each can be table- and
// fuzz-tested anywhere; splitCommand (platform_*.go) picks the one whose
// rules the host's users write commands in.

// splitPOSIX splits a command line into words with POSIX shell quoting,
// and nothing else of the shell: no variables, no command substitution.
func splitPOSIX(line string) ([]string, error) {
	p := shellwords.NewParser()
	// The parser's defaults come from package variables anyone in the
	// binary could flip; backticks would then run commands.
	p.ParseEnv, p.ParseBacktick, p.ParseComment = false, false, false
	words, err := p.Parse(line)
	if err != nil {
		// The parser's one message, "invalid command line string", means
		// the line ended inside quotes or after a backslash.
		return nil, fmt.Errorf("parse command %q: unterminated quote or trailing backslash: %w", line, err)
	}
	if p.Position >= 0 {
		// The parser stops at an unquoted ; & | < or > and returns the
		// words before it, which would silently run half a pipeline.
		near := []rune(line)[p.Position:]
		if len(near) > 20 {
			near = append(near[:20], '…')
		}
		return nil, fmt.Errorf("parse command %q: unquoted shell operator near %q: quote it, or make it a shell check", line, string(near))
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}

// splitWindows splits a command line as Windows' CommandLineToArgvW does,
// which is how a Windows user expects a path to survive:
//
//   - the first word (the program) ends at the next space or tab, or, if it
//     starts with a double quote, at the next double quote; backslashes and
//     quotes inside it are plain characters;
//   - later words are separated by spaces and tabs outside double quotes;
//   - a backslash is literal unless a run of them precedes a double quote:
//     2n backslashes and a quote give n backslashes and open or close
//     quoting, 2n+1 give n backslashes and a literal quote;
//   - inside quotes, two quotes in a row give one literal quote and end the
//     quoted part (the rule Windows has kept since before 2008).
//
// Leading spaces and tabs are dropped first (Windows would make an empty
// program name of them). An unclosed quote runs to the end
// of the line, as on Windows. Nothing else is special: | & < > % ^ are
// plain characters, since no shell is involved.
func splitWindows(line string) ([]string, error) {
	line = strings.TrimLeft(line, " \t")
	if line == "" {
		return nil, errors.New("empty command")
	}
	if strings.ContainsRune(line, 0) {
		return nil, fmt.Errorf("parse command %q: NUL character", line)
	}
	var prog string
	rest := ""
	if line[0] == '"' {
		var ok bool
		prog, rest, ok = strings.Cut(line[1:], `"`)
		if !ok {
			prog, rest = line[1:], ""
		}
	} else if i := strings.IndexAny(line, " \t"); i >= 0 {
		prog, rest = line[:i], line[i:]
	} else {
		prog = line
	}
	return append([]string{prog}, splitWindowsArgs(rest)...), nil
}

// splitWindowsArgs splits what follows the program name.
func splitWindowsArgs(s string) []string {
	var (
		words   []string
		word    strings.Builder
		inWord  bool // a word has started, even if it is still empty ("")
		quoted  bool
		slashes int
	)
	flushSlashes := func(n int) {
		word.WriteString(strings.Repeat(`\`, n))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			slashes++
			inWord = true
			continue
		case c == '"':
			flushSlashes(slashes / 2)
			inWord = true
			if slashes%2 == 1 {
				word.WriteByte('"')
			} else if quoted && i+1 < len(s) && s[i+1] == '"' {
				word.WriteByte('"')
				i++
				quoted = false
			} else {
				quoted = !quoted
			}
			slashes = 0
			continue
		}
		flushSlashes(slashes)
		slashes = 0
		if (c == ' ' || c == '\t') && !quoted {
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
			continue
		}
		word.WriteByte(c)
		inWord = true
	}
	flushSlashes(slashes)
	if inWord {
		words = append(words, word.String())
	}
	return words
}
