package check

import (
	"errors"
	"testing"
)

func TestParsePluginOutput(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		output     string
		longOutput string
		perf       []Perf
	}{
		{"empty", "", "", "", nil},
		{"output only", "OK - all fine\n", "OK - all fine", "", nil},
		{"no perfdata with long output", "OK\nline 2\nline 3\n", "OK", "line 2\nline 3", nil},
		{"perfdata on first line", "PING OK - rta 0.05ms | rta=0.05ms;100;500;0; pl=0%;20;60;0\n",
			"PING OK - rta 0.05ms", "", []Perf{
				{Label: "rta", Value: 0.05, UOM: "ms", Warn: "100", Crit: "500", Min: "0"},
				{Label: "pl", Value: 0, UOM: "%", Warn: "20", Crit: "60", Min: "0"}}},
		{"bar with nothing after it", "OK |\n", "OK", "", nil},
		{"bar with spaces after it", "OK |   \nmore", "OK", "more", nil},
		{"output empty, perfdata only", "| a=1", "", "", []Perf{{Label: "a", Value: 1}}},
		{"perfdata may hold a second bar", "OK | a=1 | b=2", "OK", "", nil},
		{"perfdata in long output runs to the end",
			"DISK OK | /=10MB\n/ ok\n/boot ok | /boot=20MB\n/home=30MB;40\n'var log'=5%\n",
			"DISK OK", "/ ok\n/boot ok", []Perf{
				{Label: "/", Value: 10, UOM: "MB"},
				{Label: "/boot", Value: 20, UOM: "MB"},
				{Label: "/home", Value: 30, UOM: "MB", Warn: "40"},
				{Label: "var log", Value: 5, UOM: "%"}}},
		{"long output perfdata without first-line perfdata",
			"OK\ndetail\n| a=1\nb=2", "OK", "detail", []Perf{{Label: "a", Value: 1}, {Label: "b", Value: 2}}},
		{"lines after the perfdata start are not long output",
			"OK\nx | a=1\nthis=2\nthat=3", "OK", "x", []Perf{{Label: "a", Value: 1}, {Label: "this", Value: 2}, {Label: "that", Value: 3}}},
		{"CRLF", "WARN - load 5 | load1=5;4;8\r\nline 2\r\nline 3 | x=1s\r\ny=2\r\n",
			"WARN - load 5", "line 2\nline 3", []Perf{
				{Label: "load1", Value: 5, Warn: "4", Crit: "8"},
				{Label: "x", Value: 1, UOM: "s"},
				{Label: "y", Value: 2}}},
		{"surrounding whitespace", "  OK  \t\nline 2  \n\n\n", "OK", "line 2", nil},
		{"blank lines inside long output kept", "OK\n\nafter blank\n\nlast", "OK", "\nafter blank\n\nlast", nil},
		{"empty first line", "\nlong", "", "long", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			output, long, perf, err := ParsePluginOutput(tt.in)
			if tt.name == "perfdata may hold a second bar" {
				// The second '|' belongs to the perfdata, where it is a bad
				// item; the items around it must survive it.
				var pe *PerfError
				if !errors.As(err, &pe) || pe.Item != "|" {
					t.Fatalf("error %v, want a PerfError for %q", err, "|")
				}
				tt.perf = []Perf{{Label: "a", Value: 1}, {Label: "b", Value: 2}}
			} else if err != nil {
				t.Fatalf("ParsePluginOutput(%q): %v", tt.in, err)
			}
			if output != tt.output {
				t.Errorf("output %q, want %q", output, tt.output)
			}
			if long != tt.longOutput {
				t.Errorf("long output %q, want %q", long, tt.longOutput)
			}
			if !samePerfs(perf, tt.perf) {
				t.Errorf("perfdata\n got %+v\nwant %+v", perf, tt.perf)
			}
		})
	}
}

func TestParsePluginOutputBadPerfdata(t *testing.T) {
	output, long, perf, err := ParsePluginOutput("CRIT - broken | a=1 junk b=x\nmore | c=3")
	if output != "CRIT - broken" || long != "more" {
		t.Errorf("output %q, long %q: want them filled despite bad perfdata", output, long)
	}
	if want := []Perf{{Label: "a", Value: 1}, {Label: "c", Value: 3}}; !samePerfs(perf, want) {
		t.Errorf("perfdata %+v, want %+v", perf, want)
	}
	var pe *PerfError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want a *PerfError", err)
	}
}

// A result rebuilt from what ParsePluginOutput read must render to text that
// reads back the same, since that text is what travels over NSCA.
func TestPluginOutputRoundTrip(t *testing.T) {
	in := "DISK OK | /=10MB;;;0\r\n/ ok\n\n/boot ok | /boot=20MB;@1:2\n'my label'=U;~:5\n"
	checkRoundTrip(t, in)
}

func checkRoundTrip(t *testing.T, in string) {
	t.Helper()
	output, long, perf, _ := ParsePluginOutput(in)
	r := Result{Output: output, LongOutput: long, Perfdata: perf}
	text := r.PluginOutput()
	output2, long2, perf2, err := ParsePluginOutput(text)
	if err != nil {
		t.Fatalf("rendered %q does not read back: %v", text, err)
	}
	if output2 != output || long2 != long || !samePerfs(perf2, perf) {
		t.Fatalf("round trip of %q through %q:\n output %q -> %q\n long %q -> %q\n perf %+v -> %+v",
			in, text, output, output2, long, long2, perf, perf2)
	}
}

func FuzzParsePluginOutput(f *testing.F) {
	for _, s := range []string{
		"", "OK", "OK | a=1", "OK |", "| a=1", "OK\nlong\nmore | b=2\nc=3",
		"A\r\nB\r\n | 'x y'=1%;@1:2;~:3;0;100\r\n", "\n\n|\n", "x\r\r\ny", "OK | a=1 |b=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRoundTrip(t, s)
	})
}
