package config

import (
	"strings"
	"testing"
	"time"
)

func TestSpoolDefaults(t *testing.T) {
	c, err := Parse("picket.toml", []byte("hostname = \"web01\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SpoolDir != DefaultSpoolDir() || c.Spool.MaxAge.Duration != 24*time.Hour || c.Spool.MaxBytes != 256<<20 ||
		c.Spool.FlushInterval.Duration != time.Second || c.Spool.ReplayWindow.Duration != 15*time.Minute {
		t.Errorf("defaults: dir %q, %+v", c.SpoolDir, c.Spool)
	}
	if c.Health.SpoolerService != "picket_spooler" || c.Health.BacklogWarning.Duration != 10*time.Minute || c.Health.BacklogCritical.Duration != time.Hour {
		t.Errorf("health defaults: %+v", c.Health)
	}
}

func TestSpoolSettings(t *testing.T) {
	src := `hostname = "web01"
spool_dir = "/srv/spool"

[spool]
max_age = "2h"
max_bytes = "64MiB"
flush_interval = "250ms"
replay_window = "5m"

[[target]]
address = "a:5667"
encryption = "none"
group = "dc1"

[[target]]
address = "b:5667"
encryption = "none"
group = "dc1"

[[target]]
address = "[::1]:5667"
encryption = "none"
`
	c, err := Parse("picket.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Spool.MaxAge.Duration != 2*time.Hour || c.Spool.MaxBytes != 64<<20 || c.Spool.FlushInterval.Duration != 250*time.Millisecond ||
		c.Spool.ReplayWindow.Duration != 5*time.Minute {
		t.Errorf("got %+v", c.Spool)
	}
	cursors := []string{c.Targets[0].Cursor(), c.Targets[1].Cursor(), c.Targets[2].Cursor()}
	if cursors[0] != "group.dc1" || cursors[1] != "group.dc1" || cursors[2] != "target.___1__5667" {
		t.Errorf("cursors = %q", cursors)
	}
	eff, err := c.Effective(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`max_bytes = "64MiB"`, `group = "dc1"`, `spooler_service = "picket_spooler"`, `spool_dir = "/srv/spool"`} {
		if !strings.Contains(string(eff), want) {
			t.Errorf("effective config lacks %s:\n%s", want, eff)
		}
	}
}

func TestSpoolProblems(t *testing.T) {
	src := `hostname = "web01"
spool_dir = "spool"

[spool]
max_age = "10s"
max_bytes = "12KB"
flush_interval = "5m"

[health]
spooler_service = "picket_poller"
backlog_warning = "2h"

[[target]]
address = "a:5667"
encryption = "none"
group = "dc 1"

[[target]]
address = "a:5667"
encryption = "none"
`
	_, err := Parse("picket.toml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`picket.toml:2: spool_dir: "spool" is not an absolute path`,
		`picket.toml:5: spool.max_age: keep results at least 1m`,
		`picket.toml:6: spool.max_bytes: at least 256KiB`,
		`picket.toml:7: spool.flush_interval: at most 1m`,
		`picket.toml:10: health.spooler_service: must differ from health.poller_service`,
		`health.backlog_critical: must not be shorter than health.backlog_warning`,
		`picket.toml:16: target[0].group: "dc 1": use up to 64 letters`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
