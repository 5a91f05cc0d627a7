package builtin

import (
	"errors"
	"math"
	"testing"
)

var inf = math.Inf(1)

func TestParseRange(t *testing.T) {
	tests := []struct {
		in    string
		want  Range
		alert map[float64]bool // value -> alert
	}{
		{"10", Range{0, 10, false}, map[float64]bool{-1: true, 0: false, 10: false, 10.1: true}},
		{"10:", Range{10, inf, false}, map[float64]bool{9.9: true, 10: false, 1e9: false}},
		{"~:10", Range{math.Inf(-1), 10, false}, map[float64]bool{-1e9: false, 10: false, 11: true}},
		{"10:20", Range{10, 20, false}, map[float64]bool{9: true, 10: false, 20: false, 21: true}},
		{"@10:20", Range{10, 20, true}, map[float64]bool{9: false, 10: true, 20: true, 21: false}},
		{"@10", Range{0, 10, true}, map[float64]bool{0: true, 5: true, 11: false}},
		{"0", Range{0, 0, false}, map[float64]bool{0: false, 1: true}},
		{"-5:-1", Range{-5, -1, false}, map[float64]bool{-3: false, 0: true}},
		{"1.5", Range{0, 1.5, false}, map[float64]bool{1.5: false, 1.51: true}},
		{"1e3", Range{0, 1000, false}, map[float64]bool{1000: false}},
		{":5", Range{0, 5, false}, map[float64]bool{-1: true, 5: false}},
		{"~:", Range{math.Inf(-1), inf, false}, map[float64]bool{-1e300: false, 1e300: false}},
	}
	for _, tt := range tests {
		got, err := ParseRange(tt.in)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRange(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		for v, a := range tt.alert {
			if got.Alert(v) != a {
				t.Errorf("%q.Alert(%v) = %v, want %v", tt.in, v, !a, a)
			}
		}
	}
}

func TestParseRangeErrors(t *testing.T) {
	for _, in := range []string{"", "@", "abc", "10:5", "1:2:3", "~", "NaN", "Inf", "0x10", "1_000", "10%", "@@1", "5:~"} {
		if r, err := ParseRange(in); !errors.Is(err, ErrRange) {
			t.Errorf("ParseRange(%q) = %+v, %v; want an ErrRange", in, r, err)
		}
	}
}

func TestRangeString(t *testing.T) {
	for in, want := range map[string]string{
		"10": "10", "10:": "10:", "~:10": "~:10", "10:20": "10:20", "@10:20": "@10:20",
		"0:10": "10", "0:": "0:", "@0:": "@0:", "2.5": "2.5", "-1:1": "-1:1",
	} {
		r, err := ParseRange(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.String(); got != want {
			t.Errorf("ParseRange(%q).String() = %q, want %q", in, got, want)
		}
	}
}

func TestParseThreshold(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		in   string
		q    quantity
		want Threshold
	}{
		{"10%", sizes(1, true), Threshold{Range{0, 10, false}, true}},
		{"10%:", sizes(1, true), Threshold{Range{10, inf, false}, true}},
		{"@80%:90%", sizes(1, true), Threshold{Range{80, 90, true}, true}},
		{"500MB", sizes(1, true), Threshold{Range{0, 500 * mib, false}, false}},
		{"500", sizes(mib, true), Threshold{Range{0, 500 * mib, false}, false}},
		{"500", sizes(1, true), Threshold{Range{0, 500, false}, false}},
		{"1.5GiB:", sizes(1, false), Threshold{Range{1.5 * (1 << 30), inf, false}, false}},
		{"2k", sizes(1, false), Threshold{Range{0, 2048, false}, false}},
		{"1TB", sizes(1, false), Threshold{Range{0, 1 << 40, false}, false}},
		{"90000", seconds, Threshold{Range{0, 90000, false}, false}},
		{"25h", seconds, Threshold{Range{0, 25 * 3600, false}, false}},
		{"10m:", seconds, Threshold{Range{600, inf, false}, false}},
		{"2d", seconds, Threshold{Range{0, 2 * 86400, false}, false}},
		{"80", percentOnly, Threshold{Range{0, 80, false}, false}},
		{"80%", percentOnly, Threshold{Range{0, 80, false}, true}},
	}
	for _, tt := range tests {
		got, err := parseThreshold(tt.in, tt.q)
		if err != nil {
			t.Errorf("parseThreshold(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parseThreshold(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	bad := []struct {
		in string
		q  quantity
	}{
		{"10%:500MB", sizes(1, true)},
		{"10%", sizes(1, false)},
		{"10XB", sizes(1, true)},
		{"5y", seconds},
		{"MB", sizes(1, true)},
		{"10%", plainNumbers},
		{"%", sizes(1, true)},
	}
	for _, tt := range bad {
		if got, err := parseThreshold(tt.in, tt.q); !errors.Is(err, ErrRange) {
			t.Errorf("parseThreshold(%q) = %+v, %v; want an ErrRange", tt.in, got, err)
		}
	}
}

// FuzzParseRange: whatever the input, the parser returns a range that
// reads back to itself or an ErrRange, never panics, and never returns a
// range with its start above its end.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@~:", "-1e3:5", "", ":", "@", "1:2:3", "10%", "5MB:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			if !errors.Is(err, ErrRange) {
				t.Fatalf("ParseRange(%q): error %v is not an ErrRange", s, err)
			}
			return
		}
		if math.IsNaN(r.Start) || math.IsNaN(r.End) || r.Start > r.End {
			t.Fatalf("ParseRange(%q) = %+v", s, r)
		}
		back, err := ParseRange(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRange(%q) = %+v, written %q, read back %+v, %v", s, r, r.String(), back, err)
		}
		for _, q := range []quantity{sizes(1<<20, true), seconds, percentOnly} {
			if _, err := parseThreshold(s, q); err != nil && !errors.Is(err, ErrRange) {
				t.Fatalf("parseThreshold(%q): error %v is not an ErrRange", s, err)
			}
		}
	})
}
