package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/logs"
)

// openLogs builds a daemon's logger from its [log] section; --log-level,
// when given, overrides the section's level for every component. sink is
// the Event Log when running as a Windows service, else nil.
func openLogs(sec config.Log, levelFlag string, stderr io.Writer, sink logs.EventSink) (*logs.Logger, error) {
	c := sec.Settings()
	if levelFlag != "" {
		l, err := logs.ParseLevel(levelFlag)
		if err != nil {
			return nil, fmt.Errorf("--log-level: %w", err)
		}
		c.Level, c.Levels = l, nil
	}
	return logs.New(c, stderr, sink)
}

// levelFlagOK checks --log-level before anything starts; empty means the
// config's levels.
func levelFlagOK(cmd, level string, sio stdio) bool {
	if level == "" {
		return true
	}
	if _, err := logs.ParseLevel(level); err != nil {
		fmt.Fprintf(sio.err, "%s: --log-level: %v\n", cmd, err)
		return false
	}
	return true
}

// followLevels makes a reloaded [log] section's levels take effect; a new
// file or format needs a restart, which it says.
func followLevels(l *logs.Logger, levelFlag string, first config.Log) func(*config.Config) {
	return func(c *config.Config) {
		if levelFlag == "" {
			s := c.Log.Settings()
			l.SetLevels(s.Level, s.Levels)
		}
		if c.Log.File != first.File || c.Log.Format != first.Format || c.Log.MaxSize != first.MaxSize || c.Log.MaxFiles != first.MaxFiles {
			l.Warn("a new [log] file, format or size takes effect when picket restarts")
		}
	}
}

// newLogger writes structured text logs to w at the named level, for
// commands that run without a config's [log] section.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	lvl, err := logs.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}
