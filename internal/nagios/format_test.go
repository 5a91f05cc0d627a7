package nagios

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

var ts = time.Unix(1795265690, 0)

func TestAppendCheckResult(t *testing.T) {
	long := strings.Repeat("x", 4095)
	tests := []struct {
		name          string
		host, service string
		rc            int
		output        string
		want          string
	}{
		// The first rows were captured from Debian 12's nsca 2.10.2 fed by
		// send_nsca into a regular command file.
		{"service", "h1", "svc", 0, "line1\nline2 back\\slash cr\rx",
			`[1795265690] PROCESS_SERVICE_CHECK_RESULT;h1;svc;0;line1\nline2 back\\slash cr` + "\rx\n"},
		{"host", "h2", "", 3, "hostout",
			"[1795265690] PROCESS_HOST_CHECK_RESULT;h2;3;hostout\n"},
		{"negative rc", "h3", "", -1, "neg",
			"[1795265690] PROCESS_HOST_CHECK_RESULT;h3;-1;neg\n"},
		{"newline in host and service", "ho\nst", "sv\nc", 2, "out",
			"[1795265690] PROCESS_SERVICE_CHECK_RESULT;ho;sv;2;out\n"},
		{"service empty after cut", "h1", "\nabc", 0, "out",
			"[1795265690] PROCESS_HOST_CHECK_RESULT;h1;0;out\n"},
		{"CR service kept", "h2", "\r", 1, "cr",
			"[1795265690] PROCESS_SERVICE_CHECK_RESULT;h2;\r;1;cr\n"},
		{"escaped-looking input", "h", "s", 0, `a\nb\\c`,
			`[1795265690] PROCESS_SERVICE_CHECK_RESULT;h;s;0;a\\nb\\\\c` + "\n"},
		{"empty output", "h", "s", 0, "",
			"[1795265690] PROCESS_SERVICE_CHECK_RESULT;h;s;0;\n"},
		{"output with semicolons and perfdata", "h", "disk /", 1, "WARN - 9% free|'/'=91%;90;95;0;100",
			"[1795265690] PROCESS_SERVICE_CHECK_RESULT;h;disk /;1;WARN - 9% free|'/'=91%;90;95;0;100\n"},
		{"trailing newline and backslash", "h", "s", 2, "x\n\\",
			`[1795265690] PROCESS_SERVICE_CHECK_RESULT;h;s;2;x\n\\` + "\n"},
		{"4095-byte output", "h", "s", 0, long,
			"[1795265690] PROCESS_SERVICE_CHECK_RESULT;h;s;0;" + long + "\n"},
		{"rc beyond int16", "h", "s", 70000, "o",
			"[1795265690] PROCESS_SERVICE_CHECK_RESULT;h;s;70000;o\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendCheckResult(nil, ts, tt.host, tt.service, tt.rc, tt.output))
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			r := CheckResult{Time: ts, Host: tt.host, Service: tt.service, ReturnCode: tt.rc, Output: tt.output}
			if got := string(r.AppendTo([]byte("prefix"))); got != "prefix"+tt.want {
				t.Errorf("AppendTo: got %q", got)
			}
		})
	}
}

func TestAppendCommand(t *testing.T) {
	tests := []struct {
		name string
		cmd  string
		args []string
		want string
	}{
		{"no args", "RESTART_PROGRAM", nil, "[1795265690] RESTART_PROGRAM\n"},
		{"args", "SCHEDULE_FORCED_SVC_CHECK", []string{"h", "s", "1795265700"},
			"[1795265690] SCHEDULE_FORCED_SVC_CHECK;h;s;1795265700\n"},
		{"newlines stripped", "ADD_HOST_COMMENT", []string{"h", "1", "picket", "a\nb\n"},
			"[1795265690] ADD_HOST_COMMENT;h;1;picket;a b \n"},
		{"newline in name", "X\nY", []string{"\r"}, "[1795265690] X Y;\r\n"},
		{"empty arg", "C", []string{""}, "[1795265690] C;\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendCommand(nil, ts, tt.cmd, tt.args...))
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAppendCheckResultNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 8192)
	out := strings.Repeat("multi\\line\n", 100)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendCheckResult(buf[:0], ts, "web01", "disk_root", 2, out)
	})
	if allocs != 0 {
		t.Errorf("AppendCheckResult allocates %v times with room in dst", allocs)
	}
}

// unescape reverses nsca's escape_newlines and reports whether s was a
// valid escaping.
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", false
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		default:
			return "", false
		}
	}
	return b.String(), true
}

func FuzzAppendCheckResult(f *testing.F) {
	f.Add("h", "s", 0, "ok")
	f.Add("h\nx", "", -1, "a\\n\nb\\")
	f.Add("", "\n", 3, "\r\n\\\\")
	f.Fuzz(func(t *testing.T, host, service string, rc int, output string) {
		line := AppendCheckResult(nil, ts, host, service, rc, output)
		if i := bytes.IndexByte(line, '\n'); i != len(line)-1 {
			t.Fatalf("newline at %d of %d in %q", i, len(line), line)
		}
		h, s := cutNewline(host), cutNewline(service)
		prefix := "[1795265690] PROCESS_SERVICE_CHECK_RESULT;" + h + ";" + s + ";" + strconv.Itoa(rc) + ";"
		if s == "" {
			prefix = "[1795265690] PROCESS_HOST_CHECK_RESULT;" + h + ";" + strconv.Itoa(rc) + ";"
		}
		rest, ok := strings.CutPrefix(string(line[:len(line)-1]), prefix)
		if !ok {
			t.Fatalf("%q does not start with %q", line, prefix)
		}
		got, ok := unescape(rest)
		if !ok || got != output {
			t.Fatalf("unescaped %q (valid %v), want %q", got, ok, output)
		}
	})
}

func BenchmarkAppendCheckResult(b *testing.B) {
	buf := make([]byte, 0, 8192)
	out := "DISK OK - free space: / 3326 MB (56% inode=99%);| /=2643MB;5948;5958;0;5968"
	b.SetBytes(int64(len(AppendCheckResult(nil, ts, "web01.example.com", "disk_root", 0, out))))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendCheckResult(buf[:0], ts, "web01.example.com", "disk_root", 0, out)
	}
}
