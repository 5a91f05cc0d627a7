package check

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// samePerf compares items treating two undetermined values as equal, which
// == does not, since NaN != NaN.
func samePerf(a, b Perf) bool {
	if a.IsUndetermined() || b.IsUndetermined() {
		if a.IsUndetermined() != b.IsUndetermined() {
			return false
		}
		a.Value, b.Value = 0, 0
	}
	return a == b
}

func samePerfs(a, b []Perf) bool { return slices.EqualFunc(a, b, samePerf) }

func TestParsePerfdata(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		in   string
		want []Perf
	}{
		{"empty", "", nil},
		{"only spaces", "  \t ", nil},
		{"plain", "load1=0.5", []Perf{{Label: "load1", Value: 0.5}}},
		{"all fields", "load1=0.5;5;10;0;100", []Perf{
			{Label: "load1", Value: 0.5, Warn: "5", Crit: "10", Min: "0", Max: "100"}}},
		{"empty fields", "load1=0.5;;;0;", []Perf{{Label: "load1", Value: 0.5, Min: "0"}}},
		{"missing trailing fields", "a=1;2", []Perf{{Label: "a", Value: 1, Warn: "2"}}},
		{"extra empty field", "a=1;2;3;4;5;", []Perf{
			{Label: "a", Value: 1, Warn: "2", Crit: "3", Min: "4", Max: "5"}}},
		{"percent", "pl=0%;20;60;0", []Perf{{Label: "pl", Value: 0, UOM: "%", Warn: "20", Crit: "60", Min: "0"}}},
		{"seconds", "time=0.004s;;;0.000000;10.000000", []Perf{
			{Label: "time", Value: 0.004, UOM: "s", Min: "0.000000", Max: "10.000000"}}},
		{"milliseconds", "rta=0.05ms;100.000;500.000;0;", []Perf{
			{Label: "rta", Value: 0.05, UOM: "ms", Warn: "100.000", Crit: "500.000", Min: "0"}}},
		{"bytes", "size=512B;;;0", []Perf{{Label: "size", Value: 512, UOM: "B", Min: "0"}}},
		{"kilobytes", "mem=1.5KB", []Perf{{Label: "mem", Value: 1.5, UOM: "KB"}}},
		{"counter", "packets=123456c", []Perf{{Label: "packets", Value: 123456, UOM: "c"}}},
		{"unicode and slash units", "lat=5µs rate=2MB/s temp=40°C", []Perf{
			{Label: "lat", Value: 5, UOM: "µs"},
			{Label: "rate", Value: 2, UOM: "MB/s"},
			{Label: "temp", Value: 40, UOM: "°C"}}},
		{"negative", "offset=-0.25s;-1:1;-2:2", []Perf{
			{Label: "offset", Value: -0.25, UOM: "s", Warn: "-1:1", Crit: "-2:2"}}},
		{"plus sign and bare point", "a=+5 b=.5 c=5.", []Perf{
			{Label: "a", Value: 5}, {Label: "b", Value: 0.5}, {Label: "c", Value: 5}}},
		{"exponent", "a=1.5e3 b=-2E-2ms c=1e+2", []Perf{
			{Label: "a", Value: 1500}, {Label: "b", Value: -0.02, UOM: "ms"}, {Label: "c", Value: 100}}},
		{"e without digits is a unit", "a=5e", []Perf{{Label: "a", Value: 5, UOM: "e"}}},
		{"undetermined", "a=U;1;2", []Perf{{Label: "a", Value: nan, Warn: "1", Crit: "2"}}},
		{"ranges", "a=15;@10:20;~:5;0 b=1;10:;20:", []Perf{
			{Label: "a", Value: 15, Warn: "@10:20", Crit: "~:5", Min: "0"},
			{Label: "b", Value: 1, Warn: "10:", Crit: "20:"}}},
		{"quoted label with spaces", "'C:\\ Used Space'=12.34GB;28;31.5;0;35", []Perf{
			{Label: `C:\ Used Space`, Value: 12.34, UOM: "GB", Warn: "28", Crit: "31.5", Min: "0", Max: "35"}}},
		{"quoted label with =", "'a=b'=1", []Perf{{Label: "a=b", Value: 1}}},
		{"doubled quote", "'it''s'=1 '''q'''=2", []Perf{
			{Label: "it's", Value: 1}, {Label: "'q'", Value: 2}}},
		{"quote inside unquoted label", "it's=1", []Perf{{Label: "it's", Value: 1}}},
		{"several and odd spacing", "  a=1\tb=2ms;3  \r\n 'c d'=3%  ", []Perf{
			{Label: "a", Value: 1}, {Label: "b", Value: 2, UOM: "ms", Warn: "3"}, {Label: "c d", Value: 3, UOM: "%"}}},
		{"disk", "/=2643MB;5579;5890;0;6200 /boot=68MB;88;93;0;98", []Perf{
			{Label: "/", Value: 2643, UOM: "MB", Warn: "5579", Crit: "5890", Min: "0", Max: "6200"},
			{Label: "/boot", Value: 68, UOM: "MB", Warn: "88", Crit: "93", Min: "0", Max: "98"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePerfdata(tt.in)
			if err != nil {
				t.Fatalf("ParsePerfdata(%q): %v", tt.in, err)
			}
			if !samePerfs(got, tt.want) {
				t.Errorf("ParsePerfdata(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePerfdataKeepsGoodItems(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Perf
		badItem []string
	}{
		{"no equals", "a=1 junk b=2", []Perf{{Label: "a", Value: 1}, {Label: "b", Value: 2}}, []string{"junk"}},
		{"empty label", "=1 b=2", []Perf{{Label: "b", Value: 2}}, []string{"=1"}},
		{"empty quoted label", "''=1 b=2", []Perf{{Label: "b", Value: 2}}, []string{"''=1"}},
		{"missing value", "a= b=2", []Perf{{Label: "b", Value: 2}}, []string{"a="}},
		{"missing value before fields", "a=;1;2", nil, []string{"a=;1;2"}},
		{"not a number", "a=abc b=NaN c=Inf d=0x10 e=1", []Perf{{Label: "e", Value: 1}},
			[]string{"a=abc", "b=NaN", "c=Inf", "d=0x10"}},
		{"two points", "a=1.2.3", nil, []string{"a=1.2.3"}},
		{"comma decimal", "load=0,50;1,00", nil, []string{"load=0,50;1,00"}},
		{"out of range", "a=1e999 b=1", []Perf{{Label: "b", Value: 1}}, []string{"a=1e999"}},
		{"U with unit", "a=Us", nil, []string{"a=Us"}},
		{"too many fields", "a=1;2;3;4;5;6 b=2", []Perf{{Label: "b", Value: 2}}, []string{"a=1;2;3;4;5;6"}},
		{"unterminated quote", "'a b=1 c=2", []Perf{{Label: "b", Value: 1}, {Label: "c", Value: 2}}, []string{"'a"}},
		{"quoted label without =", "'a b'x=1 c=2", []Perf{{Label: "c", Value: 2}}, []string{"'a b'x=1"}},
		{"control character", "'a\tb'=1 c=2\x00 d=3", []Perf{{Label: "d", Value: 3}}, []string{"'a\tb'=1", "c=2\x00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePerfdata(tt.in)
			if !samePerfs(got, tt.want) {
				t.Errorf("ParsePerfdata(%q) items\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
			if err == nil {
				t.Fatalf("ParsePerfdata(%q): no error, want one per bad item", tt.in)
			}
			var first *PerfError
			if !errors.As(err, &first) {
				t.Fatalf("ParsePerfdata(%q): error %v is not a *PerfError", tt.in, err)
			}
			var items []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var pe *PerfError
				if !errors.As(e, &pe) {
					t.Fatalf("joined error %v is not a *PerfError", e)
				}
				if pe.Reason == "" {
					t.Errorf("PerfError for %q has no reason", pe.Item)
				}
				items = append(items, pe.Item)
			}
			if !slices.Equal(items, tt.badItem) {
				t.Errorf("bad items %q, want %q", items, tt.badItem)
			}
		})
	}
}

func TestPerfString(t *testing.T) {
	tests := []struct {
		p    Perf
		want string
	}{
		{Perf{Label: "load1", Value: 0.5}, "load1=0.5"},
		{Perf{Label: "load1", Value: 0.5, Min: "0"}, "load1=0.5;;;0"},
		{Perf{Label: "pl", Value: 0, UOM: "%", Warn: "20", Crit: "60", Min: "0", Max: "100"}, "pl=0%;20;60;0;100"},
		{Perf{Label: "a b", Value: 1}, "'a b'=1"},
		{Perf{Label: "a=b", Value: 1}, "'a=b'=1"},
		{Perf{Label: "it's", Value: 1}, "'it''s'=1"},
		{Perf{Label: "", Value: 1}, "''=1"},
		{Perf{Label: "a", Value: math.NaN(), UOM: "s", Warn: "1"}, "a=U;1"},
		{Perf{Label: "a", Value: math.Inf(1)}, "a=U"},
		{Perf{Label: "a", Value: -1500, UOM: "ms"}, "a=-1500ms"},
		{Perf{Label: "a", Value: 1e21}, "a=1e+21"},
		{Perf{Label: "a", Value: 1e-9}, "a=1e-09"},
		{Perf{Label: "a", Value: 0.000123}, "a=0.000123"},
		{Perf{Label: "a", Value: 1, Warn: "@10:20", Crit: "~:5"}, "a=1;@10:20;~:5"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestPerfRoundTrip(t *testing.T) {
	in := "'C:\\ Used Space'=12.34GB;28;31.5;0;35 'it''s'=1 'a=b'=2 load1=0.50;;;0; " +
		"x=-1.5e-3s;~:5;@10:20 y=U;1 z=1e300 w=+7c;10:"
	items, err := ParsePerfdata(in)
	if err != nil {
		t.Fatal(err)
	}
	var rendered []string
	for _, p := range items {
		rendered = append(rendered, p.String())
	}
	again, err := ParsePerfdata(strings.Join(rendered, " "))
	if err != nil {
		t.Fatalf("parse of rendered %q: %v", rendered, err)
	}
	if !samePerfs(items, again) {
		t.Errorf("round trip changed items\nfirst  %+v\nsecond %+v", items, again)
	}
}

func FuzzParsePerfdata(f *testing.F) {
	for _, s := range []string{
		"", "load1=0.5;5;10;0;100", "'a b'=1 'it''s'=2%", "a=U;@10:20;~:5;0;",
		"a=1e3ms;10: b=-.5", "junk 'unterminated=1", "a=1;2;3;4;5;6", "'''=1",
		"=", "'", "a=5e", "a=1.2.3", "x=0,5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, _ := ParsePerfdata(s)
		for _, p := range items {
			r := p.String()
			again, err := ParsePerfdata(r)
			if err != nil || len(again) != 1 {
				t.Fatalf("item %+v rendered as %q reads back as %+v, %v", p, r, again, err)
			}
			if !samePerf(p, again[0]) {
				t.Fatalf("item %+v rendered as %q reads back as %+v", p, r, again[0])
			}
		}
	})
}
