package config

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"

	"github.com/picket-monitoring/picket/internal/logs"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// Log is the [log] section, shared by the agent's and the server's
// config: where a long-running picket writes its logs and how much.
type Log struct {
	Level string `toml:"level"`
	// File, when set, gets the logs rotated by size. Empty: stderr (the
	// journal under systemd), or the Event Log for a Windows service.
	File     string            `toml:"file"`
	MaxSize  tomlfile.Size     `toml:"max_size"`
	MaxFiles int               `toml:"max_files"`
	Format   string            `toml:"format"`
	Levels   map[string]string `toml:"levels"`
}

const minLogSize = 1 << 20 // the rotation's unit

// Resolve fills in the defaults and reports each problem through add, with
// the field under "log.".
func (l *Log) Resolve(add func(field, msg string)) {
	if l.Level == "" {
		l.Level = "info"
	}
	if _, err := logs.ParseLevel(l.Level); err != nil {
		add("log.level", err.Error())
	}
	if l.Format == "" {
		l.Format = "text"
	}
	if l.Format != "text" && l.Format != "json" {
		add("log.format", fmt.Sprintf("%q: want text or json", l.Format))
	}
	if l.File != "" && !filepath.IsAbs(l.File) {
		add("log.file", fmt.Sprintf("%q is not an absolute path", l.File))
	}
	switch {
	case l.MaxSize == 0:
		l.MaxSize = logs.DefaultMaxSize
	case l.MaxSize < minLogSize:
		add("log.max_size", fmt.Sprintf("%d bytes is below the minimum 1MiB", int64(l.MaxSize)))
	}
	switch {
	case l.MaxFiles == 0:
		l.MaxFiles = logs.DefaultMaxFiles
	case l.MaxFiles < 0:
		add("log.max_files", "must not be negative")
	}
	names := make([]string, 0, len(l.Levels))
	for k := range l.Levels {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !logs.KnownComponent(k) {
			add("log.levels."+k, fmt.Sprintf("unknown component (known: %s)", strings.Join(logs.Components, ", ")))
		} else if _, err := logs.ParseLevel(l.Levels[k]); err != nil {
			add("log.levels."+k, err.Error())
		}
	}
}

// Settings is the resolved section as the logs package takes it.
func (l *Log) Settings() logs.Config {
	c := logs.Config{File: l.File, MaxSize: int64(l.MaxSize), MaxFiles: l.MaxFiles, Format: l.Format}
	c.Level, _ = logs.ParseLevel(l.Level)
	if len(l.Levels) > 0 {
		c.Levels = map[string]slog.Level{}
		for k, v := range l.Levels {
			c.Levels[k], _ = logs.ParseLevel(v)
		}
	}
	return c
}
