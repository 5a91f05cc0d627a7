package readme

import (
	"fmt"
	"os"
	"strings"
)

// Blocks returns the fenced blocks of the section of the Markdown file
// path whose heading line is heading (up to the next heading of any
// level), in order, each without the indentation of a list item.
func Blocks(path, heading string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	_, section, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		return nil, fmt.Errorf("%s: no section %q", path, heading)
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	var blocks, cur []string
	in, indent := false, ""
	for _, line := range strings.Split(section, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case strings.HasPrefix(trimmed, "```") && !in:
			in, cur, indent = true, nil, line[:len(line)-len(trimmed)]
		case strings.HasPrefix(trimmed, "```"):
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, strings.TrimPrefix(line, indent))
		}
	}
	if in {
		return nil, fmt.Errorf("%s: section %q: a block is not closed", path, heading)
	}
	return blocks, nil
}
