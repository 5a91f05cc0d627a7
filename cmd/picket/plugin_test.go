package main

import (
	"runtime"
	"strings"
	"testing"
)

func TestPluginList(t *testing.T) {
	code, out, _ := run("plugin")
	if code != 0 || !strings.Contains(out, "  disk ") || !strings.Contains(out, "  procs ") || strings.Contains(out, "Usage") {
		t.Errorf("plugin: code %d, out %q", code, out)
	}
	code, out, _ = run("plugin", "-h")
	if code != 0 || !strings.Contains(out, "Usage: picket plugin") || !strings.Contains(out, "  uptime ") {
		t.Errorf("plugin -h: code %d, out %q", code, out)
	}
}

func TestPluginHelpAndErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"plugin", "disk", "-h"}, 0, "Usage: picket plugin disk"},
		{[]string{"plugin", "procs", "--help"}, 0, "-C, --command NAME"},
		{[]string{"plugin", "nosuch"}, 3, "UNKNOWN - no built-in check nosuch (picket plugin lists them)\n"},
		{[]string{"plugin", "load", "-w", "1,2"}, 3, "LOAD UNKNOWN - bad arguments: load:"},
		{[]string{"plugin", "uptime", "-w", "1w:"}, 1, "UPTIME WARNING - up "},
		{[]string{"plugin", "uptime"}, 0, "| uptime="},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests, struct {
			args []string
			code int
			out  string
		}{[]string{"plugin", "--state-dir", t.TempDir(), "eventlog"}, 3, "EVENTLOG UNKNOWN - the event log exists only on Windows\n"})
	}
	for _, tt := range tests {
		code, out, _ := run(tt.args...)
		if code != tt.code || !strings.Contains(out, tt.out) {
			t.Errorf("%v: code %d, out %q; want %d and %q", tt.args, code, out, tt.code, tt.out)
		}
	}
	if code, _, errs := run("plugin", "--bogus", "disk"); code != exitUsage || !strings.Contains(errs, "unknown flag --bogus") {
		t.Errorf("--bogus: code %d, stderr %q", code, errs)
	}
}
