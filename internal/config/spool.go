package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// Spool is how long results wait for a target that is down and how they
// are sent once it is back.
type Spool struct {
	// MaxAge and MaxBytes bound the backlog; the oldest results go first
	// and every drop is counted and reported.
	MaxAge   tomlfile.Duration `toml:"max_age"`
	MaxBytes tomlfile.Size     `toml:"max_bytes"`
	// FlushInterval is the longest a new result waits before it is sent.
	FlushInterval tomlfile.Duration `toml:"flush_interval"`
	// ReplayWindow: after an outage, results older than this are reduced
	// to state changes and the latest per service, and say when they were
	// really checked (NSCA 2.x stamps them with the time they arrive).
	ReplayWindow tomlfile.Duration `toml:"replay_window"`
}

// Defaults of [spool].
const (
	DefaultSpoolMaxAge        = 24 * time.Hour
	DefaultSpoolMaxBytes      = 256 << 20
	DefaultFlushInterval      = time.Second
	DefaultReplayWindow       = 15 * time.Minute
	DefaultSpoolerService     = "picket_spooler"
	DefaultBacklogWarning     = 10 * time.Minute
	DefaultBacklogCritical    = time.Hour
	DefaultLossAlert          = 24 * time.Hour
	DefaultClockSkewWarning   = time.Minute
	minSpoolMaxBytes          = 256 << 10
	minSpoolMaxAge            = time.Minute
	maxFlushInterval          = time.Minute
	maxGroupLen               = 64
	defaultSpoolDirUnix       = "/var/lib/picket/spool"
	defaultSpoolDirWindowsSub = `picket\spool`
)

// DefaultSpoolDir is where the platform keeps the spool.
func DefaultSpoolDir() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(programData(), defaultSpoolDirWindowsSub)
	}
	return defaultSpoolDirUnix
}

var groupName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Cursor is the name of the spool cursor the target reads from: one per
// group, so the targets of a failover group share it. An ungrouped target
// is a group of its own, named after its address.
func (t *Target) Cursor() string {
	if t.Group != "" {
		return "group." + t.Group
	}
	return "target." + strings.Map(func(r rune) rune {
		if r < 0x80 && groupName.MatchString(string(r)) {
			return r
		}
		return '_'
	}, t.Address)
}

func (c *Config) applySpoolDefaults(probs *tomlfile.Problems) {
	if c.SpoolDir == "" && c.StateDir != "" && filepath.IsAbs(c.StateDir) {
		c.SpoolDir = filepath.Join(c.StateDir, "spool")
	} else if c.SpoolDir == "" {
		c.SpoolDir = DefaultSpoolDir()
	} else if !filepath.IsAbs(c.SpoolDir) {
		probs.Add("spool_dir", fmt.Sprintf("%q is not an absolute path", c.SpoolDir))
	}
	s := &c.Spool
	if s.MaxAge.Duration == 0 {
		s.MaxAge.Duration = DefaultSpoolMaxAge
	} else if s.MaxAge.Duration < minSpoolMaxAge {
		probs.Add("spool.max_age", "keep results at least 1m (the default is 24h)")
	}
	if s.MaxBytes == 0 {
		s.MaxBytes = DefaultSpoolMaxBytes
	} else if s.MaxBytes < minSpoolMaxBytes {
		probs.Add("spool.max_bytes", "at least 256KiB (the default is 256MiB)")
	}
	if s.FlushInterval.Duration == 0 {
		s.FlushInterval.Duration = DefaultFlushInterval
	} else if s.FlushInterval.Duration > maxFlushInterval {
		probs.Add("spool.flush_interval", "at most 1m: results wait this long before they are sent")
	}
	if s.ReplayWindow.Duration == 0 {
		s.ReplayWindow.Duration = DefaultReplayWindow
	}
	h := &c.Health
	if h.SpoolerService == "" {
		h.SpoolerService = DefaultSpoolerService
	}
	checkspec.CheckName(probs, "health.spooler_service", "service", h.SpoolerService, checkspec.MaxServiceLen)
	if h.SpoolerService == h.PollerService {
		probs.Add("health.spooler_service", "must differ from health.poller_service")
	}
	if h.BacklogWarning.Duration == 0 {
		h.BacklogWarning.Duration = DefaultBacklogWarning
	}
	if h.BacklogCritical.Duration == 0 {
		h.BacklogCritical.Duration = DefaultBacklogCritical
	}
	if h.ClockSkewWarning.Duration == 0 {
		h.ClockSkewWarning.Duration = DefaultClockSkewWarning
	}
	if h.LossAlert.Duration == 0 {
		h.LossAlert.Duration = DefaultLossAlert
	} else if h.LossAlert.Duration < h.Interval.Duration {
		probs.Add("health.loss_alert", fmt.Sprintf("%v is shorter than health.interval (%v): a loss could go unreported", h.LossAlert.Duration, h.Interval.Duration))
	}
	if h.BacklogCritical.Duration < h.BacklogWarning.Duration {
		probs.Add("health.backlog_critical", "must not be shorter than health.backlog_warning")
	}
}

// checkGroups refuses group names the spool cannot use and a target
// listed twice in one group.
func (c *Config) checkGroups(probs *tomlfile.Problems) {
	seen := map[string]bool{}
	kinds := map[string]string{}
	for i, t := range c.Targets {
		f := "target[" + strconv.Itoa(i) + "]"
		if k, ok := kinds[t.Cursor()]; ok && k != t.Kind && t.Group != "" {
			probs.Add(f+".kind", fmt.Sprintf("group %q mixes kinds of targets (%s and %s): a failover group's targets must speak the same protocol", t.Group, k, t.Kind))
		}
		kinds[t.Cursor()] = t.Kind
		if t.Group != "" && (len(t.Group) > maxGroupLen || !groupName.MatchString(t.Group)) {
			probs.Add(f+".group", fmt.Sprintf("%q: use up to %d letters, digits, '.', '_' or '-'", t.Group, maxGroupLen))
		}
		k := t.Cursor() + " " + t.Address
		if seen[k] {
			probs.Add(f+".address", fmt.Sprintf("%s is listed twice in the same group", t.Address))
		}
		seen[k] = true
	}
}
