package logs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Components are the names the agent and the server log under; a level
// for any other name is a typo.
var Components = []string{"agent", "poller", "spooler", "spool", "externals", "service", "nsca", "http", "registration", "nagios", "metrics"}

// Defaults of a rotated log file.
const (
	DefaultMaxSize  = 10 << 20
	DefaultMaxFiles = 5
)

// Config says where logs go and how much of them.
type Config struct {
	Level  slog.Level
	Levels map[string]slog.Level // per component; overrides Level
	Format string                // "text" (default) or "json"
	// File, when set, receives the logs, rotated at MaxSize bytes keeping
	// MaxFiles old files. Empty: the process's stderr or event sink.
	File     string
	MaxSize  int64
	MaxFiles int
}

// EventSink is an event log, such as the Windows Event Log; it has no
// debug level, so debug records go to Info.
type EventSink interface {
	Info(msg string) error
	Warning(msg string) error
	Error(msg string) error
}

// ParseLevel reads debug, info, warn (or warning) and error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not a level (debug, info, warn or error)", s)
}

// KnownComponent reports whether name is one of Components.
func KnownComponent(name string) bool {
	for _, c := range Components {
		if c == name {
			return true
		}
	}
	return false
}

// Logger is a slog.Logger whose levels can be changed while it is in use.
type Logger struct {
	*slog.Logger
	levels *levels
	closer io.Closer
}

// New builds the logger for cfg. Without cfg.File it writes to sink when
// one is given (a Windows service) and to stderr otherwise.
func New(cfg Config, stderr io.Writer, sink EventSink) (*Logger, error) {
	if cfg.Format != "" && cfg.Format != "text" && cfg.Format != "json" {
		return nil, fmt.Errorf("log format %q: want text or json", cfg.Format)
	}
	lv := &levels{}
	lv.set(cfg.Level, cfg.Levels)
	var (
		inner  slog.Handler
		closer io.Closer
	)
	switch {
	case cfg.File != "":
		f := &lumberjack.Logger{
			Filename:   cfg.File,
			MaxSize:    megabytes(or(cfg.MaxSize, DefaultMaxSize)),
			MaxBackups: orInt(cfg.MaxFiles, DefaultMaxFiles),
		}
		inner, closer = format(cfg.Format, f), f
	case sink != nil:
		inner = newEventHandler(sink)
	default:
		inner = format(cfg.Format, stderr)
	}
	return &Logger{Logger: slog.New(&levelHandler{inner: inner, levels: lv}), levels: lv, closer: closer}, nil
}

// SetLevels replaces the levels; records logged from now on follow them.
func (l *Logger) SetLevels(level slog.Level, per map[string]slog.Level) {
	l.levels.set(level, per)
}

// Close closes the log file, if there is one.
func (l *Logger) Close() error {
	if l.closer == nil {
		return nil
	}
	return l.closer.Close()
}

// megabytes rounds a byte size up to lumberjack's unit.
func megabytes(n int64) int {
	return int((n + 1<<20 - 1) >> 20)
}

func or(v, d int64) int64 {
	if v > 0 {
		return v
	}
	return d
}

func orInt(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func format(name string, w io.Writer) slog.Handler {
	// The inner handler lets everything through: levelHandler decides.
	o := &slog.HandlerOptions{Level: slog.LevelDebug}
	if name == "json" {
		return slog.NewJSONHandler(w, o)
	}
	return slog.NewTextHandler(w, o)
}

// levels is the shared, swappable level table.
type levels struct {
	cur atomic.Pointer[levelTable]
}

type levelTable struct {
	def slog.Level
	per map[string]slog.Level
}

func (l *levels) set(def slog.Level, per map[string]slog.Level) {
	l.cur.Store(&levelTable{def: def, per: maps.Clone(per)})
}

func (l *levels) of(component string) slog.Level {
	t := l.cur.Load()
	if v, ok := t.per[component]; ok {
		return v
	}
	return t.def
}

// levelHandler filters by the level of the component a logger was made
// for with With("component", name).
type levelHandler struct {
	inner     slog.Handler
	levels    *levels
	component string
}

func (h *levelHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.levels.of(h.component)
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.inner.Handle(ctx, r)
}

func (h *levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	for _, a := range attrs {
		if a.Key == "component" {
			c.component = a.Value.String()
		}
	}
	c.inner = h.inner.WithAttrs(attrs)
	return &c
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}

// eventHandler formats a record as text (without time and level, which the
// event log keeps itself) and writes it to the sink at its level.
type eventHandler struct {
	sink EventSink
	text slog.Handler
	mu   *sync.Mutex
	buf  *bytes.Buffer
}

func newEventHandler(sink EventSink) *eventHandler {
	h := &eventHandler{sink: sink, mu: &sync.Mutex{}, buf: &bytes.Buffer{}}
	h.text = slog.NewTextHandler(h.buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	return h
}

func (h *eventHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	msg := strings.TrimRight(h.buf.String(), "\n")
	switch {
	case r.Level >= slog.LevelError:
		return h.sink.Error(msg)
	case r.Level >= slog.LevelWarn:
		return h.sink.Warning(msg)
	default:
		return h.sink.Info(msg)
	}
}

func (h *eventHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.text = h.text.WithAttrs(attrs)
	return &c
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.text = h.text.WithGroup(name)
	return &c
}
