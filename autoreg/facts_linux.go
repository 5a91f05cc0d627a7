package autoreg

import (
	"bufio"
	"os"
	"strings"
)

// osVersion is the distribution's own name for itself.
func osVersion() string {
	for _, path := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if v := osRelease(path); v != "" {
			return v
		}
	}
	return ""
}

// osRelease reads PRETTY_NAME (or NAME and VERSION when a minimal image
// lacks it) from an os-release file.
func osRelease(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		vals[k] = unquoteShell(v)
	}
	if v := vals["PRETTY_NAME"]; v != "" {
		return v
	}
	return strings.TrimSpace(vals["NAME"] + " " + vals["VERSION"])
}

// unquoteShell undoes the shell quoting os-release(5) allows: one pair of
// double or single quotes, and backslash escapes inside double quotes.
func unquoteShell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
