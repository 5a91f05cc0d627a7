//go:build windows

package plugins

import (
	"io/fs"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
	"golang.org/x/text/encoding/charmap"
)

// pathVar is spelled as Windows spells it; names compare case-insensitively.
const pathVar = "Path"

// scriptExts are tried, in order, after a bare plugin name, as cmd.exe
// tries PATHEXT.
var scriptExts = []string{".exe", ".ps1", ".bat", ".cmd", ".vbs"}

// DefaultInterpreters returns the interpreters used when Config.Interpreters
// is nil: Windows runs only .exe files by itself.
func DefaultInterpreters() map[string][]string {
	return map[string][]string{
		".ps1": {"powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File"},
		".vbs": {"cscript.exe", "//NoLogo"},
		".bat": {"cmd.exe", "/C"},
		".cmd": {"cmd.exe", "/C"},
	}
}

func shellArgv(line string) []string { return []string{"cmd.exe", "/C", line} }

func nameVariants(name string) []string {
	var v []string
	if filepath.Ext(name) != "" {
		v = append(v, name)
	}
	for _, ext := range scriptExts {
		v = append(v, name+ext)
	}
	return v
}

// executable accepts any file: Windows has no execute bit, and a file it
// cannot run fails at start with an error that says so.
func executable(string, fs.FileInfo) error { return nil }

func envKeyEqual(a, b string) bool { return strings.EqualFold(a, b) }

// splitCommand splits a check's command as Windows itself splits a command
// line (CommandLineToArgvW), so C:\plugins\check_x.exe keeps its
// backslashes. os/exec quotes the words back into a command line that the
// plugin's own runtime splits into the same words.
func splitCommand(line string) ([]string, error) { return splitWindows(line) }

var procGetOEMCP = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetOEMCP")

// outputCodePages are the code pages a console plugin writes in, most
// likely first: the console's output code page (when the agent has a
// console, which its plugins share), the OEM code page (what console
// programs use when there is none, as under the service manager), then the
// ANSI code page (what GUI-era tools and many scripts write).
func outputCodePages() []*charmap.Charmap {
	var cps []uint32
	if cp, err := windows.GetConsoleOutputCP(); err == nil && cp != 0 {
		cps = append(cps, cp)
	}
	if cp, _, _ := procGetOEMCP.Call(); cp != 0 {
		cps = append(cps, uint32(cp))
	}
	return legacyTables(append(cps, windows.GetACP())...)
}
