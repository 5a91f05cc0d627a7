package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
)

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), args, stdio{strings.NewReader(""), &out, &errb})
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := run("version")
	if code != 0 || !strings.Contains(out, "picket dev (commit unknown, "+runtime.Version()) {
		t.Errorf("code %d, out %q", code, out)
	}
}

func TestUsage(t *testing.T) {
	if code, _, errs := run(); code != exitUsage || !strings.Contains(errs, "Usage: picket <command>") {
		t.Errorf("no args: code %d, stderr %q", code, errs)
	}
	if code, _, errs := run("frobnicate"); code != exitUsage || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("unknown: code %d, stderr %q", code, errs)
	}
	if code, out, _ := run("help"); code != 0 || !strings.Contains(out, "send ") || !strings.Contains(out, "server ") {
		t.Errorf("help: code %d, out %q", code, out)
	}
}

func TestSendUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"send"}, exitUsage, "Usage: picket send"},
		{[]string{"send", "-H", "x", "-to", "0"}, exitUsage, "-to must be a positive"},
		{[]string{"send", "-H", "x", "-d", "0x1ff"}, exitUsage, "-d: delimiter"},
		{[]string{"send", "-H", "x", "--config", "y"}, exitUsage, "either -H or --config"},
		{[]string{"send", "-H", "x", "-c", "/nonexistent/send_nsca.cfg"}, exitCritical, "open send_nsca config"},
		{[]string{"send", "--config", "/nonexistent/picket.toml"}, exitCritical, "read config"},
	}
	for _, tt := range tests {
		code, _, errs := run(tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", tt.args, code, errs, tt.code, tt.want)
		}
	}
}

func TestServerConfigErrors(t *testing.T) {
	code, _, errs := run("server", "--config", "/nonexistent/server.toml")
	if code != exitCritical || !strings.Contains(errs, "read server config") {
		t.Errorf("code %d, stderr %q", code, errs)
	}
	code, _, errs = run("server", "--log-level", "loud")
	if code != exitUsage || !strings.Contains(errs, "--log-level") {
		t.Errorf("code %d, stderr %q", code, errs)
	}
}

// -h on any subcommand prints its usage to standard output and exits 0;
// so do picket -h and picket --version (the version).
func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}} {
			var out, errs bytes.Buffer
			code := dispatch(t.Context(), args, stdio{strings.NewReader(""), &out, &errs})
			if code != exitOK || !strings.Contains(out.String(), "Usage") || errs.Len() != 0 {
				t.Errorf("picket %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, firstLine(out.String()), errs.String())
			}
		}
	}
	var out, errs bytes.Buffer
	if code := dispatch(t.Context(), []string{"--version"}, stdio{strings.NewReader(""), &out, &errs}); code != exitOK || !strings.HasPrefix(out.String(), "picket ") {
		t.Errorf("picket --version: exit %d, %q %q", code, out.String(), errs.String())
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
