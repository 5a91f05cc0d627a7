package nagios

import (
	"strings"
	"testing"
)

func TestHostFile(t *testing.T) {
	tests := []struct{ host, file string }{
		{"web01", "web01.cfg"},
		{"web01.example.com", "web01.example.com.cfg"},
		{"Web_01-a", "Web_01-a.cfg"},
		{".hidden", "%2Ehidden.cfg"}, // Nagios skips hidden files
		{"a/b", "a%2Fb.cfg"},
		{"..", "%2E..cfg"},
		{"100%", "100%25.cfg"},
		{"x y", "x%20y.cfg"},
		{"é", "%C3%A9.cfg"},
		{"picket-commands", "%70icket-commands.cfg"}, // not CommandsFile
	}
	for _, tt := range tests {
		if got := hostFile(tt.host); got != tt.file {
			t.Errorf("hostFile(%q) = %q, want %q", tt.host, got, tt.file)
		}
		if got := hostOfFile(tt.file); got != tt.host {
			t.Errorf("hostOfFile(%q) = %q, want %q", tt.file, got, tt.host)
		}
	}
	for _, file := range []string{"admin.cfg", "bad%zz.cfg", "cut%4.cfg"} {
		if got, want := hostOfFile(file), strings.TrimSuffix(file, ".cfg"); got != want {
			t.Errorf("hostOfFile(%q) = %q, want %q", file, got, want)
		}
	}
}
