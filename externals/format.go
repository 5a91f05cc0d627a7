package externals

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/checkspec"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

// DefaultMaxSize bounds an externals file. A thousand checks fit in a
// tenth of it; anything larger is a mistake or an attack, and the agent
// holds the whole file in memory.
const DefaultMaxSize = 1 << 20

// File is one host's externals as written, and its checks as the agent
// runs them.
type File struct {
	// HostAddress is $HOSTADDRESS$ of the host's checks; empty means the
	// host name.
	HostAddress string `toml:"host_address"`
	// HostCheck is the Nagios check_command of the host's object, such as
	// "check-host-alive" or "check_ping!100.0,20%!500.0,60%": Nagios then
	// checks the host actively instead of waiting for the agent's host
	// result. The server writes it into the object; the agent ignores it.
	HostCheck string             `toml:"host_check"`
	Defaults  checkspec.Defaults `toml:"defaults"`
	Macros    checkspec.Macros   `toml:"macros"`
	CheckList []checkspec.Spec   `toml:"check"`

	// Checks are the enabled checks, resolved for the host Parse was
	// given, each carrying the file's macros.
	Checks []check.Check `toml:"-"`
}

// Parse decodes and validates an externals file for host. file names it
// in errors (a path or the URL it came from). Problems in the content come
// back together as a *tomlfile.Error, each with file:line; a host name that
// fails ValidHost is an error before the content is looked at.
func Parse(file string, data []byte, host string) (*File, error) {
	if !ValidHost(host) {
		return nil, fmt.Errorf("%s: externals for invalid host name %q", file, host)
	}
	var f File
	if err := tomlfile.Decode(file, data, &f); err != nil {
		return nil, err
	}
	probs := tomlfile.NewProblems(file, data)
	if strings.ContainsFunc(f.HostAddress, isControl) || strings.TrimSpace(f.HostAddress) != f.HostAddress {
		probs.Add("host_address", fmt.Sprintf("%q: no control characters or surrounding spaces", f.HostAddress))
	}
	if strings.ContainsFunc(f.HostCheck, isControl) || strings.TrimSpace(f.HostCheck) != f.HostCheck || strings.HasPrefix(f.HostCheck, "!") {
		probs.Add("host_check", fmt.Sprintf("%q: a Nagios check_command (command!arg!...), without control characters or surrounding spaces", f.HostCheck))
	}
	for _, name := range slices.Sorted(maps.Keys(f.Macros)) {
		// check.MacroSet separates its entries with NUL; TOML can write
		// one as \u0000, and it would split the value into a bogus macro.
		if strings.ContainsRune(f.Macros[name], 0) {
			probs.Add("macros."+name, "a macro value cannot hold a NUL character")
		}
	}
	addr := f.HostAddress
	if addr == "" {
		addr = host
	}
	checks := checkspec.ResolveFile(probs, f.CheckList, f.Defaults, f.Macros, host, addr)
	if err := probs.Err(); err != nil {
		return nil, err
	}
	f.Checks = checks
	return &f, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// ValidHost reports whether name can be a host's name in externals: it
// becomes part of a URL path and of file names on the server and in the
// agent's cache, so it is held to letters, digits, '.', '_' and '-',
// starting with a letter or digit, at most 63 bytes (NSCA's limit), with
// no ".." and no trailing dot. Windows device names (CON, NUL, COM1, ...)
// are refused too: on Windows "nul.toml" is the null device, not a file,
// and a name must work on every platform the agent and server run on.
func ValidHost(name string) bool {
	if len(name) == 0 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || strings.HasSuffix(name, ".") {
		return false
	}
	base, _, _ := strings.Cut(name, ".")
	return !windowsDevice(base)
}

func windowsDevice(base string) bool {
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 {
		prefix := strings.ToUpper(base[:3])
		return (prefix == "COM" || prefix == "LPT") && '1' <= base[3] && base[3] <= '9'
	}
	return false
}
