package check

import (
	"sort"
	"strings"
)

// MacroSet is a check's own macros (an externals file's [macros]) in a
// canonical encoding: NAME=value pairs sorted by name, each ended by a NUL.
// It is a string so that Check stays comparable: a check whose macros did
// not change is the same check and keeps its schedule.
type MacroSet string

// NewMacroSet encodes m. Names and values must not hold NUL; TOML strings
// from the config never do.
func NewMacroSet(m map[string]string) MacroSet {
	if len(m) == 0 {
		return ""
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	return MacroSet(b.String())
}

// Each calls fn for every macro, in name order.
func (s MacroSet) Each(fn func(name, value string)) {
	rest := string(s)
	for rest != "" {
		pair, tail, _ := strings.Cut(rest, "\x00")
		name, value, _ := strings.Cut(pair, "=")
		fn(name, value)
		rest = tail
	}
}

// Map decodes the set; nil when it is empty.
func (s MacroSet) Map() map[string]string {
	if s == "" {
		return nil
	}
	m := map[string]string{}
	s.Each(func(k, v string) { m[k] = v })
	return m
}
