package check

import (
	"strings"
)

// ParsePluginOutput splits plugin output the way Nagios core does: the first
// line is the output, and a '|' on it starts perfdata that runs to the end of
// that line. The following lines are long output until one holds a '|'; from
// there on everything, to the end of the text, is perfdata.
//
// Output is trimmed of surrounding whitespace (as Nagios does), long output
// of trailing whitespace and of the '\r' of CRLF line ends. err only ever
// reports bad perfdata items, with the good ones still in perf; output and
// longOutput are filled either way.
//
// Unlike Nagios, a first line that starts with '|' is read as empty output
// followed by perfdata: Nagios' strtok would skip the '|' and show the
// perfdata as the output, which no plugin means.
func ParsePluginOutput(out string) (output, longOutput string, perf []Perf, err error) {
	first, rest, hasRest := strings.Cut(out, "\n")
	output, perfText, _ := strings.Cut(first, "|")
	output = strings.TrimFunc(output, isSpaceRune)

	if hasRest {
		var long []string
		lines := strings.Split(rest, "\n")
		for i, line := range lines {
			line = strings.TrimRight(line, "\r")
			text, more, found := strings.Cut(line, "|")
			long = append(long, text)
			if !found {
				continue
			}
			// Line breaks become spaces: they separate perfdata items
			// just as spaces do, and '\r' is whitespace to the parser.
			perfText = strings.Join(append([]string{perfText, more}, lines[i+1:]...), " ")
			break
		}
		longOutput = strings.TrimRightFunc(strings.Join(long, "\n"), isSpaceRune)
	}

	perf, err = ParsePerfdata(perfText)
	return output, longOutput, perf, err
}

func isSpaceRune(r rune) bool { return r < 0x80 && isSpace(byte(r)) }
