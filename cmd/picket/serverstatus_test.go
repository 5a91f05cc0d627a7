package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/hub"
)

func TestPrintServerStatus(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	st := hub.Status{Version: "1.2.3", PID: 42, Config: "/etc/picket/server.toml", Started: now.Add(-time.Hour),
		Listeners: []hub.ListenerView{{Name: "nsca", Address: "0.0.0.0:5667", State: hub.ListenerUp},
			{Name: "http", Address: "0.0.0.0:8443", State: hub.ListenerError, Error: "http: accept: too many open files"}},
		NSCA: &hub.NSCAView{Received: 600, Rate1m: hub.Rate{PerMinute: 12, Over: "1m0s"}, Rate5m: hub.Rate{PerMinute: 10, Over: "5m0s"},
			Written: 598, Rejected: hub.Rejected{BadCRC: 3, CommandFileDropped: 2}},
		Nagios: &hub.ObjectsView{Last: now.Add(-time.Minute), Error: "nagios objects: validate: exit 1\nError: no host_name",
			LastOK: now.Add(-time.Hour), Checked: now.Add(-time.Minute)},
		Hosts: &hub.HostsView{Count: 1, List: []hub.HostView{{Host: "web01", Profile: "base", Registered: now.Add(-2 * time.Hour)}}},
	}
	var b bytes.Buffer
	printServerStatus(&b, st, now)
	out := b.String()
	for _, want := range []string{
		"picket server 1.2.3, pid 42, running since 2025-03-01 11:00:00Z (1h), config /etc/picket/server.toml",
		"http      0.0.0.0:8443  error: http: accept: too many open files",
		"NSCA: 600 results received (12.0 a minute over the last 1m0s, 10.0 over the last 5m0s)",
		"bad_crc               3",
		"command_file_dropped  2",
		"Nagios objects: last update 2025-03-01 11:59:00Z (1m ago) FAILED\n  nagios objects: validate: exit 1\n  Error: no host_name\n",
		"last good update 2025-03-01 11:00:00Z (1h ago)",
		"1 registered hosts",
		"web01  base     -        2025-03-01 10:00:00Z  -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
