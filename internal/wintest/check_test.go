//go:build linux

package wintest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pluginsDir makes C:\pt\<test>\plugins with the helper plugin as
// check_x.exe and, in a folder with a space, as "check space.exe".
func pluginsDir(t *testing.T, dir string) (linux, win string) {
	t.Helper()
	linux = filepath.Join(dir, "plugins")
	for _, name := range []string{"check_x.exe", filepath.Join("sub dir", "check space.exe")} {
		if err := copyFile(lane.wtool, filepath.Join(linux, name)); err != nil {
			t.Fatal(err)
		}
	}
	return linux, winPath(linux)
}

// `picket config check` shows each check's argv as Windows splits it: the
// backslashes of the commands survive, $USER1$\x.exe is inside the
// plugin folder, and a UNC path stays a UNC path.
func TestConfigCheckShowsWindowsArgv(t *testing.T) {
	needLane(t)
	dir, _ := testDir(t)
	_, plugins := pluginsDir(t, dir)
	cfg := filepath.Join(dir, "picket.toml")
	writeFile(t, cfg, fmt.Sprintf(`hostname = "winhost"
plugin_dirs = ['%[1]s']

[[check]]
service = "abs"
command = '%[1]s\check_x.exe -p C:\temp\x'
interval = "1m"

[[check]]
service = "user1"
command = '$USER1$\check_x.exe \\server\share\dir "a b" "C:\Program Files\\"'
interval = "1m"

[[check]]
service = "spaces"
command = '"sub dir\check space.exe" -w 80%%'
interval = "1m"
`, plugins), 0o644)
	r := wine(t, nil, lane.picket, "config", "check", winPath(cfg))
	if r.Code != 0 {
		t.Fatalf("picket config check: %v", r)
	}
	for _, want := range []string{
		fmt.Sprintf(`# winhost/abs: ['%s\check_x.exe', '-p', 'C:\temp\x']`, plugins),
		fmt.Sprintf(`# winhost/user1: ['%s\check_x.exe', '\\server\share\dir', 'a b', 'C:\Program Files\']`, plugins),
		fmt.Sprintf(`# winhost/spaces: ['%s\sub dir\check space.exe', '-w', '80%%']`, plugins),
	} {
		if !strings.Contains(r.Stdout, want+"\n") {
			t.Errorf("config check does not show\n%s\nit printed:\n%s", want, r)
		}
	}
	if strings.Contains(r.Stderr, "warning: check") {
		t.Errorf("config check warned about a check:\n%s", r.Stderr)
	}
}

// The default config path comes from the known-folder API, not from
// %ProgramData%, which a service may see differently.
func TestDefaultPathIgnoresProgramDataVariable(t *testing.T) {
	needLane(t)
	r := wineEnvRun(t, []string{`ProgramData=C:\elsewhere`}, nil, lane.picket, "config", "check")
	if r.Code == 0 || !strings.Contains(r.Stderr, `C:\ProgramData\picket\picket.toml`) || strings.Contains(r.Stderr, "elsewhere") {
		t.Fatalf("picket config check with %%ProgramData%%=C:\\elsewhere and no config should name C:\\ProgramData\\picket\\picket.toml: %v", r)
	}
}

// checkJSON is one line of `picket check --json`.
type checkJSON struct {
	Service    string `json:"service"`
	State      string `json:"state"`
	ExitCode   *int   `json:"exit_code"`
	Output     string `json:"output"`
	LongOutput string `json:"long_output"`
	Perfdata   string `json:"perfdata"`
}

// runChecks runs `picket check --json --all` on a config of [[check]]
// tables and returns the results by service.
func runChecks(t *testing.T, dir, pluginsWin, checks string) map[string]checkJSON {
	t.Helper()
	cfg := filepath.Join(dir, "picket.toml")
	writeFile(t, cfg, fmt.Sprintf("hostname = \"winhost\"\nplugin_dirs = ['%s']\n\n%s", pluginsWin, checks), 0o644)
	r := wine(t, nil, lane.picket, "check", "--config", winPath(cfg), "--json", "--all")
	got := map[string]checkJSON{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var c checkJSON
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("picket check --json printed %q: %v\n%v", line, err, r)
		}
		got[c.Service] = c
	}
	return got
}

func code(n int) *int { return &n }

// Real .exe, .bat and .cmd plugins through picket.exe: exit codes, output,
// perfdata, long output, paths with spaces and backslashes, $USER1$\x.exe,
// and arguments that must arrive exactly as written.
func TestCheckPlugins(t *testing.T) {
	needLane(t)
	dir, _ := testDir(t)
	plugins, pluginsWin := pluginsDir(t, dir)
	writeFile(t, filepath.Join(plugins, "check_bat.bat"), "@echo off\r\necho WARNING - from bat^|b=1;2;3\r\necho second line\r\nexit /b 1\r\n", 0o755)
	writeFile(t, filepath.Join(plugins, "check_cmd.cmd"), "@echo off\r\necho CRITICAL - cmd got %1 %2\r\nexit /b 2\r\n", 0o755)
	check := func(service, command string) string {
		return fmt.Sprintf("[[check]]\nservice = %q\ncommand = '%s'\ninterval = \"1m\"\n\n", service, command)
	}
	var checks strings.Builder
	for _, c := range [][2]string{
		{"ok", `check_x.exe plugin "OK - fine|t=1s;2;3 x=5\nlong 1\nlong 2|y=7"`},
		{"warning", `check_x plugin -exit 1 "WARNING - w"`},
		{"critical", `check_x plugin -exit 2 "CRITICAL - c"`},
		{"unknown", `check_x plugin -exit 3 "UNKNOWN - u"`},
		{"out_of_range", `check_x plugin -exit 7 "odd"`},
		{"args", `$USER1$\check_x.exe plugin "OK {args}" C:\temp\x \\server\share "a b" "C:\dir\\" -w 80% "say \"hi\""`},
		{"spaces", `"` + pluginsWin + `\sub dir\check space.exe" plugin "OK - spaced {args}" "C:\Program Files\x"`},
		{"bat", `check_bat`},
		{"cmd", `check_cmd.cmd C:\temp\x "a b"`},
		{"missing", `check_nothere.exe`},
	} {
		checks.WriteString(check(c[0], c[1]))
	}
	got := runChecks(t, dir, pluginsWin, checks.String())
	want := map[string]checkJSON{
		"ok":           {State: "OK", ExitCode: code(0), Output: "OK - fine", LongOutput: "long 1\nlong 2", Perfdata: "t=1s;2;3 x=5 y=7"},
		"warning":      {State: "WARNING", ExitCode: code(1), Output: "WARNING - w"},
		"critical":     {State: "CRITICAL", ExitCode: code(2), Output: "CRITICAL - c"},
		"unknown":      {State: "UNKNOWN", ExitCode: code(3), Output: "UNKNOWN - u"},
		"out_of_range": {State: "UNKNOWN", ExitCode: code(7), Output: "plugin exited with code 7 (out of range 0..3): odd"},
		"args":         {State: "OK", ExitCode: code(0), Output: `OK <C:\temp\x> <\\server\share> <a b> <C:\dir\> <-w> <80%> <say "hi">`},
		"spaces":       {State: "OK", ExitCode: code(0), Output: `OK - spaced <C:\Program Files\x>`},
		"bat":          {State: "WARNING", ExitCode: code(1), Output: "WARNING - from bat", LongOutput: "second line", Perfdata: "b=1;2;3"},
		"cmd":          {State: "CRITICAL", ExitCode: code(2), Output: `CRITICAL - cmd got C:\temp\x "a b"`},
	}
	for svc, w := range want {
		g, ok := got[svc]
		w.Service = svc
		if !ok || g.State != w.State || g.Output != w.Output || g.LongOutput != w.LongOutput ||
			g.Perfdata != w.Perfdata || g.ExitCode == nil || *g.ExitCode != *w.ExitCode {
			t.Errorf("%s:\n got %+v (exit %v)\nwant %+v (exit %d)", svc, g, deref(g.ExitCode), w, *w.ExitCode)
		}
	}
	if m := got["missing"]; m.State != "UNKNOWN" || m.ExitCode != nil || !strings.Contains(m.Output, `plugin "check_nothere.exe" not found in `+pluginsWin) {
		t.Errorf("missing plugin: %+v", m)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// Plugins writing non-ASCII text in the OEM code page, the ANSI code page,
// UTF-16 (as PowerShell and `cmd /U` do) and UTF-8: what picket reports is
// the same valid UTF-8 each time. Under Wine's default en-US locale the OEM
// code page is 437, where these umlauts have the same bytes as in 850.
func TestCheckDecodesPluginOutput(t *testing.T) {
	needLane(t)
	dir, _ := testDir(t)
	plugins, pluginsWin := pluginsDir(t, dir)
	const text = "OK - Größe äöü ÄÖÜ ß"
	// A batch file whose echo carries OEM bytes, as one saved by Notepad
	// in a German console would.
	writeFile(t, filepath.Join(plugins, "check_oem.bat"), "@echo off\r\necho OK - Gr\x94\xe1e \x84\x94\x81 \x8e\x99\x9a \xe1\r\n", 0o755)
	var checks strings.Builder
	for _, enc := range []string{"utf8", "oem850", "ansi1252", "utf16le", "utf16bom"} {
		fmt.Fprintf(&checks, "[[check]]\nservice = %q\ncommand = 'check_x plugin -enc %s \"%s\"'\ninterval = \"1m\"\n\n", enc, enc, text)
	}
	checks.WriteString("[[check]]\nservice = \"bat_oem\"\ncommand = 'check_oem.bat'\ninterval = \"1m\"\n")
	got := runChecks(t, dir, pluginsWin, checks.String())
	for _, svc := range []string{"utf8", "oem850", "ansi1252", "utf16le", "utf16bom", "bat_oem"} {
		if g := got[svc]; g.State != "OK" || g.Output != text {
			t.Errorf("%s: got %q (%s), want %q", svc, g.Output, g.State, text)
		}
	}
}

// A timeout kills the whole tree a .cmd plugin started through cmd.exe:
// cmd.exe, the helper and the helper's own child.
func TestCheckTimeoutKillsTree(t *testing.T) {
	needLane(t)
	dir, _ := testDir(t)
	plugins, pluginsWin := pluginsDir(t, dir)
	pidFile := filepath.Join(dir, "pids.txt")
	writeFile(t, filepath.Join(plugins, "check_tree.cmd"),
		fmt.Sprintf("@echo off\r\n\"%s\\check_x.exe\" tree \"%s\"\r\n", pluginsWin, winPath(pidFile)), 0o755)
	got := runChecks(t, dir, pluginsWin, "[[check]]\nservice = \"tree\"\ncommand = 'check_tree.cmd'\ninterval = \"1m\"\ntimeout = \"6s\"\n")
	if g := got["tree"]; g.State != "CRITICAL" || g.Output != "check timed out after 6s" || g.ExitCode != nil {
		t.Fatalf("tree: %+v", g)
	}
	pids, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the plugin never started its child: %v", err)
	}
	fields := strings.Fields(string(pids))
	if len(fields) != 2 {
		t.Fatalf("pid file holds %q", pids)
	}
	r := wine(t, nil, lane.wtool, append([]string{"alive"}, fields...)...)
	if strings.Count(r.Stdout, "gone ") != 2 {
		t.Fatalf("processes of the timed-out plugin's tree outlived it: %v", r)
	}
}
