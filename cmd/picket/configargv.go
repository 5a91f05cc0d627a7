package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/picket-monitoring/picket/internal/agent"
	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/config"
)

// printArgv prints, as TOML comments, the argv each check will run, so the
// quoting rules of the platform (CommandLineToArgvW's on Windows, POSIX
// elsewhere) are there to see. Macro values are masked unless showMacros.
// It returns the number of warnings: checks whose plugin cannot be found.
func printArgv(sio stdio, cfg *config.Config, showMacros bool) int {
	shown := *cfg
	if !showMacros {
		shown.Macros = make(checkspec.Macros, len(cfg.Macros))
		for k := range cfg.Macros {
			shown.Macros[k] = config.Masked
		}
	}
	runner := agent.NewRunner(&shown)
	warnings := 0
	header := false
	for _, c := range cfg.Checks {
		argv, err := runner.Command(c)
		if err != nil {
			fmt.Fprintf(sio.err, "%s: warning: %v\n", cfg.Origins[c.Key()], err)
			warnings++
			continue
		}
		if !header {
			fmt.Fprintf(sio.out, "\n# argv of each check, one string per word the plugin gets\n")
			header = true
		}
		fmt.Fprintf(sio.out, "# %s: %s\n", c.Key(), argvString(argv))
	}
	return warnings
}

// argvString writes argv as a TOML array: literal strings where they can
// be (so a Windows path shows its backslashes once), basic strings else.
func argvString(argv []string) string {
	words := make([]string, len(argv))
	for i, w := range argv {
		if strings.ContainsAny(w, "'\t\n\r") || !strconv.CanBackquote(w) {
			words[i] = strconv.Quote(w)
		} else {
			words[i] = "'" + w + "'"
		}
	}
	return "[" + strings.Join(words, ", ") + "]"
}
