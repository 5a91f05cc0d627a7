package builtin

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// flags reads a check's arguments the way monitoring-plugins' getopt does:
// short and long names (-w 10, --warning=10), a short flag's value glued on
// (-w10%), and flags after positional arguments.
type flags struct {
	fs    *flag.FlagSet
	lines []string
	// takesValue holds the short names whose flag has a value, for
	// splitting -w10 into -w 10.
	takesValue map[string]bool
	args       []string // positional arguments, in order
}

func newFlags(name string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{fs: fs, takesValue: map[string]bool{}}
}

// value registers a flag under its short and long names (either may be
// empty) with a set function; arg names its value in the help.
func (f *flags) value(short, long, arg, help string, set func(string) error) {
	for _, n := range []string{short, long} {
		if n != "" {
			f.fs.Func(n, help, set)
		}
	}
	if short != "" {
		f.takesValue[short] = true
	}
	f.describe(short, long, arg, help)
}

func (f *flags) boolean(p *bool, short, long, help string) {
	for _, n := range []string{short, long} {
		if n != "" {
			f.fs.BoolVar(p, n, false, help)
		}
	}
	f.describe(short, long, "", help)
}

func (f *flags) describe(short, long, arg, help string) {
	var names []string
	if short != "" {
		names = append(names, "-"+short)
	}
	if long != "" {
		names = append(names, "--"+long)
	}
	head := strings.Join(names, ", ")
	if arg != "" {
		head += " " + arg
	}
	f.lines = append(f.lines, fmt.Sprintf("  %s\n      %s\n", head, strings.ReplaceAll(help, "\n", "\n      ")))
}

func (f *flags) str(p *string, short, long, arg, help string) {
	f.value(short, long, arg, help, func(s string) error { *p = s; return nil })
}

func (f *flags) list(p *[]string, short, long, arg, help string) {
	f.value(short, long, arg, help, func(s string) error { *p = append(*p, s); return nil })
}

func (f *flags) threshold(p **Threshold, q quantity, short, long, help string) {
	f.value(short, long, "RANGE", help, func(s string) error {
		t, err := parseThreshold(s, q)
		if err != nil {
			return err
		}
		*p = &t
		return nil
	})
}

// minimum registers a threshold on an amount left (free disk, free swap),
// where check_disk and check_swap read a bare "10%" as "alert below 10%":
// without ':' or '@' it means "N:". Full range syntax is taken as written.
func (f *flags) minimum(p **Threshold, q quantity, short, long, help string) {
	f.value(short, long, "RANGE", help, func(s string) error {
		text := s
		if !strings.ContainsAny(s, ":@") {
			text = s + ":"
		}
		t, err := parseThreshold(text, q)
		if err != nil {
			return err
		}
		*p = &t
		return nil
	})
}

func (f *flags) duration(p *time.Duration, short, long, help string) {
	f.value(short, long, "DURATION", help, func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			// A bare number is seconds, as plugins' -t is.
			n, nerr := strconv.ParseFloat(s, 64)
			if nerr != nil {
				return fmt.Errorf("%q is not a duration (e.g. 5s, 1m)", s)
			}
			d = time.Duration(n * float64(time.Second))
		}
		if d < 0 {
			return fmt.Errorf("%q is negative", s)
		}
		*p = d
		return nil
	})
}

func (f *flags) help() string {
	return strings.Join(f.lines, "") + "  -h, --help\n      print this help\n"
}

// parse reads args, collecting positional arguments wherever they are.
func (f *flags) parse(args []string) error {
	args = f.unglue(args)
	for {
		if err := f.fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return ErrHelp
			}
			return err
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			return nil
		}
		// flag stops at the first positional argument, or after "--";
		// after "--" everything is positional.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			f.args = append(f.args, rest...)
			return nil
		}
		f.args = append(f.args, rest[0])
		args = rest[1:]
	}
}

// unglue splits "-w10" into "-w", "10" when w is a short flag with a value
// and "w10" is not a flag of its own.
func (f *flags) unglue(args []string) []string {
	var out []string
	valueNext := false // a is the value of the flag before it
	for i, a := range args {
		if a == "--" && !valueNext {
			return append(out, args[i:]...)
		}
		wasValue := valueNext
		valueNext = false
		out = append(out, a)
		if wasValue || len(a) < 2 || a[0] != '-' || strings.Contains(a, "=") {
			continue
		}
		name := strings.TrimLeft(a, "-")
		if fl := f.fs.Lookup(name); fl != nil {
			_, isBool := fl.Value.(interface{ IsBoolFlag() bool })
			valueNext = !isBool
			continue
		}
		if a[1] != '-' && len(a) > 2 && f.takesValue[a[1:2]] {
			out = append(out[:len(out)-1], "-"+a[1:2], a[2:])
		}
	}
	return out
}
