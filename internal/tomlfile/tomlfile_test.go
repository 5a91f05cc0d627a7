package tomlfile

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSize(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want Size
		text string
	}{
		{int64(1048576), 1 << 20, "1MiB"},
		{"256MiB", 256 << 20, "256MiB"},
		{"1GiB", 1 << 30, "1GiB"},
		{"500MB", 500e6, "500000000B"},
		{"64 KiB", 64 << 10, "64KiB"},
		{"1000", 1000, "1000B"},
		{"7B", 7, "7B"},
	} {
		var s Size
		if err := s.UnmarshalTOML(tt.in); err != nil || s != tt.want {
			t.Errorf("%v: got %d, %v; want %d", tt.in, s, err, tt.want)
			continue
		}
		if b, _ := s.MarshalText(); string(b) != tt.text {
			t.Errorf("%v: text %q, want %q", tt.in, b, tt.text)
		}
	}
	for _, bad := range []any{"", "MiB", "-1MiB", "1.5GiB", "12 parsecs", "99999999999TiB", int64(-1), 1.5, true} {
		var s Size
		if err := s.UnmarshalTOML(bad); err == nil {
			t.Errorf("%v: accepted as %d", bad, s)
		}
	}
}

func TestDecodeIsStrict(t *testing.T) {
	type section struct {
		Every Duration `toml:"every"`
		Max   Size     `toml:"max"`
	}
	type file struct {
		Name  string    `toml:"name"`
		Sec   section   `toml:"sec"`
		Items []section `toml:"item"`
	}
	tests := []struct{ src, want string }{
		{"name = \"a\"\nnmae = \"b\"\n", `f.toml:2: nmae: unknown key`},
		{"[sec]\n  evry = \"5m\"\n", `f.toml:2: sec.evry: unknown key`},
		{"[[item]]\nevery = \"1m\"\n[[item]]\nmx = 1\n", `f.toml:4: item.mx: unknown key`},
		{"[bogus]\nx = 1\n", `f.toml:1: bogus: unknown key`},
		{"name = 5\n", `f.toml:1`},
		{"[sec]\nevery = \"5 minutes\"\n", `invalid duration "5 minutes"`},
		{"[sec]\nevery = \"-5m\"\n", `negative duration`},
		{"name = \"a\"\nname = \"b\"\n", `f.toml:2`},
		{"name = [\"a\",\n", `f.toml:`},
	}
	for _, tt := range tests {
		var f file
		err := Decode("f.toml", []byte(tt.src), &f)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want *Error containing %q", tt.src, err, tt.want)
		}
	}
	var f file
	if err := Decode("f.toml", []byte("name = \"x\"\n[sec]\nevery = \"90s\"\nmax = \"1KiB\"\n"), &f); err != nil {
		t.Fatal(err)
	}
	if f.Sec.Every.Duration != 90*time.Second || f.Sec.Max != 1024 {
		t.Errorf("decoded %+v", f)
	}
}

func TestFieldLine(t *testing.T) {
	data := []byte(`# comment
name = "x"
[sec]
every = "1m"
[[item]]
every = "2m"
[[item]]
max = 3
"quoted" = 1
`)
	for _, tt := range []struct {
		field string
		line  int
	}{
		{"name", 2},
		{"sec", 3},
		{"sec.every", 4},
		{"sec.max", 3}, // missing key: its table's header
		{"item[0].every", 6},
		{"item[1].max", 8},
		{"item[1]", 7},
		{"item.every", 6}, // no index: the first occurrence
		{"item[1].quoted", 9},
		{"nothing", 0},
	} {
		if got := FieldLine(data, tt.field); got != tt.line {
			t.Errorf("FieldLine(%q) = %d, want %d", tt.field, got, tt.line)
		}
	}
}

func TestProblemsInFileOrder(t *testing.T) {
	data := []byte("a = 1\nb = 2\n[c]\nd = 3\n")
	p := NewProblems("x.toml", data)
	if p.Err() != nil {
		t.Fatal("no problems, but an error")
	}
	p.Add("c.d", "too big")
	p.Add("a", "bad")
	p.AddAt(0, "", "whole file")
	if p.Len() != 3 {
		t.Fatalf("Len = %d", p.Len())
	}
	want := "x.toml: whole file\nx.toml:1: a: bad\nx.toml:4: c.d: too big"
	if got := p.Err().Error(); got != want {
		t.Errorf("Err() =\n%s\nwant\n%s", got, want)
	}
}

// FuzzDecode: any input either decodes or fails with an *Error (never a
// panic), and FieldLine never points past the end of the input.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"a = 1\n", "[x]\ny = \"1m\"\n", "[[z]]\nq = 1\n[[z]]\n", "a = [\n", "\"a.b\" = 1", "[x.y]\n'k' = 2\n"} {
		f.Add(s, "x.y")
	}
	f.Fuzz(func(t *testing.T, src, field string) {
		var v struct {
			A int            `toml:"a"`
			X map[string]any `toml:"x"`
			D Duration       `toml:"d"`
			S Size           `toml:"s"`
		}
		if err := Decode("f.toml", []byte(src), &v); err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %T without problems: %v", err, err)
			}
		}
		if n := FieldLine([]byte(src), field); n < 0 || n > strings.Count(src, "\n")+1 {
			t.Fatalf("FieldLine = %d for %d lines", n, strings.Count(src, "\n")+1)
		}
	})
}

func TestIndexLines(t *testing.T) {
	data := []byte(`hostname = "h"
# a comment = not a key
[[check]]
service = "a"
command = "x"

[[check]]
service = "b"
env = { A = "1" }

[health]
interval = "1m"
`)
	lines := IndexLines(data)
	tests := []struct {
		field string
		want  int
	}{
		{"hostname", 1},
		{"check[0].command", 5},
		{"check[1].service", 8},
		{"check[1].command", 7}, // missing: its table's header
		{"check[1].env.A", 9},   // inside an inline table: the key's line
		{"health.interval", 12},
		{"health.timeout", 11},
		{"check[2].command", 0},
		{"nowhere", 0},
	}
	for _, tt := range tests {
		if got := lines.Line(tt.field); got != tt.want {
			t.Errorf("Line(%q) = %d, want %d", tt.field, got, tt.want)
		}
		// One reading of the file places a field as reading it for each does.
		if got := FieldLine(data, tt.field); got != tt.want {
			t.Errorf("FieldLine(%q) = %d, want %d", tt.field, got, tt.want)
		}
	}
}
