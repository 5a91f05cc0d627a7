package hub

import (
	"cmp"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
)

// refusalInterval is how often refused requests are summed up in the log.
const refusalInterval = 10 * time.Second

// refusalsLoggedEach is how many refusals of one interval get a line of
// their own, in full, before the rest are only counted: an administrator
// sees the first agent refused at once, and a flood costs one line more.
const refusalsLoggedEach = 5

// refusalLog keeps refused registration and externals requests from
// flooding the log: the first few of an interval are logged as they come,
// the rest counted by reason, with the hosts and addresses seen most, and
// logged as one line when the interval ends.
type refusalLog struct {
	logger *slog.Logger
	every  time.Duration

	mu      sync.Mutex
	logged  int // lines of their own this interval
	counted int // refusals only counted this interval
	reasons map[string]*refusalCount
	start   time.Time
}

type refusalCount struct {
	n       int
	hosts   map[string]int
	remotes map[string]int
}

// maxKeys bounds the hosts and addresses kept per reason: a flood from
// many addresses must not grow the summary without end.
const maxKeys = 1000

func newRefusalLog(logger *slog.Logger, every time.Duration) *refusalLog {
	return &refusalLog{logger: logger, every: every, reasons: map[string]*refusalCount{}, start: time.Now()}
}

// note records one refusal.
func (l *refusalLog) note(r autoreg.Refusal) {
	l.mu.Lock()
	if l.logged < refusalsLoggedEach {
		l.logged++
		l.mu.Unlock()
		l.logger.Warn("request refused", "reason", r.Reason, "host", r.Host, "remote", r.Remote, "detail", r.Detail)
		return
	}
	defer l.mu.Unlock()
	l.counted++
	c := l.reasons[r.Reason]
	if c == nil {
		c = &refusalCount{hosts: map[string]int{}, remotes: map[string]int{}}
		l.reasons[r.Reason] = c
	}
	c.n++
	bump(c.hosts, r.Host)
	bump(c.remotes, r.Remote)
}

func bump(m map[string]int, k string) {
	if k == "" {
		return
	}
	if _, ok := m[k]; ok || len(m) < maxKeys {
		m[k]++
	}
}

// flush logs the interval's counted refusals as one line, if any, and
// starts the next interval.
func (l *refusalLog) flush() {
	l.mu.Lock()
	counted, reasons, since := l.counted, l.reasons, time.Since(l.start)
	l.logged, l.counted, l.reasons, l.start = 0, 0, map[string]*refusalCount{}, time.Now()
	l.mu.Unlock()
	if counted == 0 {
		return
	}
	parts := make([]string, 0, len(reasons))
	for _, reason := range slices.Sorted(maps.Keys(reasons)) {
		c := reasons[reason]
		parts = append(parts, fmt.Sprintf("%s %d (%s%s)", reason, c.n, top("host", c.hosts), top("from", c.remotes)))
	}
	l.logger.Warn(fmt.Sprintf("%d more requests refused in the last %s", counted, since.Round(time.Second)),
		"refused", counted, "by_reason", strings.Join(parts, "; "))
}

// top names the three keys seen most, with their counts.
func top(label string, m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) })
	var out []string
	for _, k := range keys[:min(3, len(keys))] {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	s := label + " " + strings.Join(out, ", ")
	if len(keys) > 3 {
		s += fmt.Sprintf(" and %d more", len(keys)-3)
	}
	if label == "host" {
		s += "; "
	}
	return s
}
