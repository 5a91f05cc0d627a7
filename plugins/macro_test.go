package plugins

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

func TestExpandMacros(t *testing.T) {
	macros := map[string]string{
		"USER1": "/usr/lib/nagios/plugins", "USER2": "/opt/x y",
		"HOSTNAME": "web01", "HOSTADDRESS": "10.0.0.1", "SERVICEDESC": "",
	}
	tests := []struct{ in, want, err string }{
		{in: "$USER1$/check_disk", want: "/usr/lib/nagios/plugins/check_disk"},
		{in: "$USER2$", want: "/opt/x y"},
		{in: "$HOSTNAME$:$HOSTADDRESS$", want: "web01:10.0.0.1"},
		{in: "[$SERVICEDESC$]", want: "[]"},
		{in: "$$", want: "$"},
		{in: "a$$b", want: "a$b"},
		{in: "$$USER1$$", want: "$USER1$"},
		{in: "$$$USER1$", want: "$/usr/lib/nagios/plugins"},
		{in: "$HOSTNAME$$HOSTADDRESS$", want: "web0110.0.0.1"},
		{in: "^up$", want: "^up$"},
		{in: "^(a|b)$|^c$", want: "^(a|b)$|^c$"},
		{in: "$", want: "$"},
		{in: "cost $5", want: "cost $5"},
		{in: "$lower$", want: "$lower$"},
		{in: "$A B$", want: "$A B$"},
		{in: "$HOSTNAME$trailing$", want: "web01trailing$"},
		{in: "no macros", want: "no macros"},
		{in: "$ARG1$", err: "undefined macro $ARG1$ in command"},
		{in: "x $FOO$ y", err: "undefined macro $FOO$ in command"},
		{in: "$$FOO$", want: "$FOO$"},
	}
	for _, tt := range tests {
		got, err := expandMacros(tt.in, macros)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || !errors.Is(err, ErrUndefinedMacro) {
				t.Errorf("expandMacros(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expandMacros(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestExpandMacrosOnce: a value is inserted as it is, never expanded
// again, so a value holding dollars cannot turn into an undefined macro.
func TestExpandMacrosOnce(t *testing.T) {
	got, err := expandMacros("-u $USER3$", map[string]string{"USER3": "pa$$w$RD$"})
	if err != nil || got != "-u pa$$w$RD$" {
		t.Errorf("got %q, %v", got, err)
	}
}

// The POSIX rules, which Unix hosts use; Windows' are in split_test.go.
func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{in: "check_x a b", want: []string{"check_x", "a", "b"}},
		{in: "check_x  \t a\n b ", want: []string{"check_x", "a", "b"}},
		{in: `check_x 'a b' "c d"`, want: []string{"check_x", "a b", "c d"}},
		{in: `check_x "it's" 'say "hi"'`, want: []string{"check_x", "it's", `say "hi"`}},
		{in: `check_x '' ""`, want: []string{"check_x", "", ""}},
		{in: `check_x a\ b`, want: []string{"check_x", "a b"}},
		{in: `check_x -r '^up$' -e '\d+'`, want: []string{"check_x", "-r", "^up$", "-e", `\d+`}},
		{in: `check_x -w 80% -c 90%`, want: []string{"check_x", "-w", "80%", "-c", "90%"}},
		{in: `check_x $HOSTNAME$ "$SERVICEDESC$"`, want: []string{"check_x", "$HOSTNAME$", "$SERVICEDESC$"}},
		{in: `check_x 'a|b' "x;y" 'p>q'`, want: []string{"check_x", "a|b", "x;y", "p>q"}},
		{in: "check_x `id`", want: []string{"check_x", "`id`"}},
		{in: `check_x 'unterminated`, err: "parse command"},
		{in: `check_x a | grep b`, err: "unquoted shell operator"},
		{in: `check_x a; rm -rf /`, err: "unquoted shell operator"},
		{in: `check_x > /tmp/out`, err: "unquoted shell operator"},
		{in: `check_x &`, err: "unquoted shell operator"},
		{in: `check_x (x)`, err: "parse command"},
		{in: "", err: "empty command"},
		{in: "   ", err: "empty command"},
	}
	for _, tt := range tests {
		got, err := splitPOSIX(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("splitPOSIX(%q) = %q, %v; want error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitPOSIX(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestCommandArgv checks splitting, expansion and lookup together: a macro
// value with spaces stays one argument whether quoted or not.
func TestCommandArgv(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX quoting and a plugin without an extension are Unix's rules; Windows' are TestSplitWindows* here and internal/wintest's argv tests")
	}
	dir := t.TempDir()
	plugin := filepath.Join(dir, "check_x")
	if err := os.WriteFile(plugin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := NewRunner(Config{Dirs: []string{dir}, Macros: map[string]string{"USER2": "/opt/x y"}})
	c := check.Check{Host: "web 01", HostAddress: "10.0.0.1", Service: "disk /var"}
	tests := []struct {
		cmd  string
		want []string
		err  string
	}{
		{cmd: "check_x", want: []string{plugin}},
		{cmd: "check_x -H $HOSTADDRESS$ -n $HOSTNAME$", want: []string{plugin, "-H", "10.0.0.1", "-n", "web 01"}},
		{cmd: `check_x "$HOSTNAME$" '$SERVICEDESC$'`, want: []string{plugin, "web 01", "disk /var"}},
		{cmd: "check_x --dir=$USER2$", want: []string{plugin, "--dir=/opt/x y"}},
		{cmd: "$USER1$/check_x", want: []string{plugin}},
		{cmd: "check_x '$$HOME'", want: []string{plugin, "$HOME"}},
		{cmd: "check_x $ARG1$", err: "undefined macro $ARG1$ in command"},
		{cmd: "check_x 'open", err: "parse command"},
	}
	for _, tt := range tests {
		c.Command = tt.cmd
		got, err := r.Command(c)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrNotStartable) {
				t.Errorf("Command(%q) = %q, %v; want error with %q", tt.cmd, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Command(%q) = %q, %v; want %q", tt.cmd, got, err, tt.want)
		}
	}
}

func TestCommandShell(t *testing.T) {
	r := NewRunner(Config{Dirs: []string{"/plugins"}})
	c := check.Check{Host: "web01", Command: "check_x -H $HOSTNAME$ | tail -1", Shell: true}
	got, err := r.Command(c)
	want := shellArgv("check_x -H web01 | tail -1")
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Command(shell) = %q, %v; want %q", got, err, want)
	}
	c.Command = "echo $NOPE$"
	if _, err := r.Command(c); err == nil || !errors.Is(err, ErrUndefinedMacro) {
		t.Errorf("Command(shell, undefined macro) error = %v", err)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[string]string{
		"30s": "30s", "1m0s": "1m", "1m30s": "1m30s", "1h0m0s": "1h", "1h30m0s": "1h30m", "200ms": "200ms",
	} {
		dur, _ := time.ParseDuration(d)
		if got := formatDuration(dur); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestCheckMacros: an externals file's macros reach its checks, the host's
// own [macros] win over them, and neither can rename the check's host.
func TestCheckMacros(t *testing.T) {
	r := NewRunner(Config{Dirs: []string{"/plugins"}, Macros: map[string]string{"USER2": "local"}})
	c := check.Check{Host: "db1", Command: "check_x $USER2$ $USER5$ $HOSTNAME$", Shell: true,
		Macros: check.NewMacroSet(map[string]string{"USER2": "central", "USER5": "five", "HOSTNAME": "evil"})}
	got, err := r.Command(c)
	want := shellArgv("check_x local five db1")
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Command = %q, %v; want %q", got, err, want)
	}
}
