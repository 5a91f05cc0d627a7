package builtin

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	var names []string
	for _, b := range All() {
		names = append(names, b.Name)
		if b.Summary == "" || strings.Contains(b.Summary, "\n") {
			t.Errorf("%s: summary %q is not one line", b.Name, b.Summary)
		}
		help := b.Help()
		for _, want := range []string{"Usage: picket plugin " + b.Name, "Options:", "-h, --help", "Example: picket plugin " + b.Name} {
			if !strings.Contains(help, want) {
				t.Errorf("%s: help lacks %q:\n%s", b.Name, want, help)
			}
		}
		if _, err := b.New([]string{"-h"}); !errors.Is(err, ErrHelp) {
			t.Errorf("%s -h: %v, want ErrHelp", b.Name, err)
		}
		if _, err := b.New([]string{"--help"}); !errors.Is(err, ErrHelp) {
			t.Errorf("%s --help: %v, want ErrHelp", b.Name, err)
		}
		if _, err := b.New([]string{"--no-such-flag"}); !errors.Is(err, ErrUsage) {
			t.Errorf("%s --no-such-flag: %v, want ErrUsage", b.Name, err)
		}
	}
	want := []string{"cpu", "disk", "eventlog", "file_age", "file_size", "load", "logfile", "memory", "procs", "service", "swap", "uptime"}
	if !slices.Equal(names, want) {
		t.Errorf("All() = %v, want %v", names, want)
	}
	if _, ok := Lookup("nosuch"); ok {
		t.Error("Lookup(nosuch) found something")
	}
}

func TestFlagsLikeGetopt(t *testing.T) {
	tests := []struct {
		args []string
		want *procsCheck
		rest []string
	}{
		{[]string{"-w5", "-c10", "-Csshd"}, &procsCheck{name: "sshd"}, nil},
		{[]string{"--warning=5", "--command", "sshd"}, &procsCheck{name: "sshd"}, nil},
		{[]string{"-a", "-Cfoo", "-k"}, &procsCheck{name: "", noKern: true}, nil},
	}
	for _, tt := range tests {
		b, _ := Lookup("procs")
		c, err := b.New(tt.args)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		p := c.(*procsCheck)
		if p.name != tt.want.name || p.noKern != tt.want.noKern {
			t.Errorf("%v: name %q noKern %v", tt.args, p.name, p.noKern)
		}
	}
	// "-a -Cfoo": -Cfoo is -a's value, not -C foo.
	b, _ := Lookup("procs")
	c, _ := b.New([]string{"-a", "-Cfoo"})
	if p := c.(*procsCheck); p.args == nil || p.args.String() != "-Cfoo" || p.name != "" {
		t.Errorf("value that looks like a flag: %+v", p)
	}

	f := newFlags("x")
	var v string
	var on bool
	f.str(&v, "s", "state", "S", "")
	f.boolean(&on, "b", "", "")
	if err := f.parse([]string{"one", "-s", "x", "two", "-b", "--", "-three"}); err != nil {
		t.Fatal(err)
	}
	if v != "x" || !on || !slices.Equal(f.args, []string{"one", "two", "-three"}) {
		t.Errorf("interspersed: v %q on %v args %q", v, on, f.args)
	}
}
