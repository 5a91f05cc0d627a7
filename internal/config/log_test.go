package config

import (
	"log/slog"
	"strings"
	"testing"
)

func TestLogSection(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // problems, each "line: field: text"; none means valid
	}{
		{name: "defaults", src: ``},
		{name: "full", src: `
[log]
level = "warn"
file = "/var/log/picket/picket.log"
max_size = "20MiB"
max_files = 3
format = "json"
[log.levels]
poller = "debug"
spooler = "error"
`},
		{name: "bad", src: `
[log]
level = "loud"
file = "picket.log"
max_size = "10KiB"
max_files = -1
format = "xml"
[log.levels]
polller = "debug"
spool = "chatty"
`, want: []string{
			`:3: log.level: "loud" is not a level`,
			`:4: log.file: "picket.log" is not an absolute path`,
			`:5: log.max_size: 10240 bytes is below the minimum 1MiB`,
			`:6: log.max_files: must not be negative`,
			`:7: log.format: "xml": want text or json`,
			`:9: log.levels.polller: unknown component (known: agent, poller`,
			`:10: log.levels.spool: "chatty" is not a level`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("picket.toml", []byte("hostname = \"web01\"\n"+strings.TrimPrefix(tc.src, "\n")))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", c.Log)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), "picket.toml"+w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLogSettings(t *testing.T) {
	c, err := Parse("picket.toml", []byte("hostname = \"h\"\n[log]\nlevel = \"warn\"\n[log.levels]\npoller = \"debug\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Log.Settings()
	if s.Level != slog.LevelWarn || s.Levels["poller"] != slog.LevelDebug || s.MaxSize != 10<<20 || s.MaxFiles != 5 || s.Format != "text" {
		t.Errorf("settings: %+v", s)
	}
}
