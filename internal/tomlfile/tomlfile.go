package tomlfile

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Problem is one thing wrong with a config file, located as precisely as
// the file allows.
type Problem struct {
	File  string
	Line  int    // 0 when the problem has no single line (a missing key)
	Field string // dotted key, e.g. "target[1].encryption"
	Msg   string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Field == "" {
		return loc + ": " + p.Msg
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.Field, p.Msg)
}

// Error lists every problem found in one pass, so a user fixes a file in one
// round instead of one error per restart.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Decode parses TOML data into v, strictly: syntax errors, wrong types and
// keys v has no field for are all errors naming file and line.
func Decode(file string, data []byte, v any) error {
	md, err := toml.Decode(string(data), v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return &Error{Problems: []Problem{{File: file, Line: pe.Position.Line, Field: pe.LastKey, Msg: pe.Message}}}
		}
		// Type mismatches come back as plain text; take line and key from it.
		if m := typeErrRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &Error{Problems: []Problem{{File: file, Line: line, Field: m[2], Msg: m[3]}}}
		}
		return &Error{Problems: []Problem{{File: file, Msg: err.Error()}}}
	}
	var probs []Problem
	for _, k := range md.Undecoded() {
		probs = append(probs, Problem{File: file, Line: keyLine(data, k), Field: k.String(), Msg: "unknown key"})
	}
	if len(probs) > 0 {
		return &Error{Problems: probs}
	}
	return nil
}

var typeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// keyLine finds the line that defines key: the TOML library reports which
// keys went unused but not where they are. Tables are tracked from their
// headers, and each [[array]] header counts up an index, so a key written
// "check[2].interval" names the third [[check]]'s interval. A key without
// indexes ("check.interval", as the library reports unknown keys) matches its
// first occurrence. A key naming a table, or a missing key in a table, finds
// the table's header.
func keyLine(data []byte, key toml.Key) int {
	want := strings.Join(key, ".")
	exact := func(full string) bool { return full == want || stripIndexes(full) == want }
	// A key missing from its table is reported on the table's header,
	// unless the key turns up after all.
	header, found := 0, 0
	scanKeys(data, func(n int, full string, isHeader bool) bool {
		switch {
		case !isHeader && (exact(full) || strings.HasPrefix(want, full+".")):
			found = n
			return false
		case isHeader && exact(full):
			found = n
			return false
		case isHeader && header == 0 && strings.HasPrefix(want, full+"."):
			header = n
		}
		return true
	})
	if found > 0 {
		return found
	}
	return header
}

// scanKeys calls fn with each table header and each key line of data, in
// order: its line number and its full dotted name, with the index of each
// array table ("check[2].command", "check[2]"), until fn returns false.
// It reads lines, not TOML: good enough to place problems, no more.
func scanKeys(data []byte, fn func(line int, full string, isHeader bool) bool) {
	var table string
	count := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[["):
			name := normKey(strings.SplitN(line[2:], "]]", 2)[0])
			table = name + "[" + strconv.Itoa(count[name]) + "]"
			count[name]++
		case strings.HasPrefix(line, "["):
			table = normKey(strings.SplitN(line[1:], "]", 2)[0])
		default:
			k, _, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			full := normKey(k)
			if table != "" {
				full = table + "." + full
			}
			if !fn(n, full, false) {
				return
			}
			continue
		}
		if !fn(n, table, true) {
			return
		}
	}
}

// Lines places many fields of one file at the cost of one reading of it,
// where FieldLine reads the file for each.
type Lines map[string]int

// IndexLines indexes data's table headers and keys by their full names.
func IndexLines(data []byte) Lines {
	l := Lines{}
	scanKeys(data, func(n int, full string, _ bool) bool {
		if _, seen := l[full]; !seen {
			l[full] = n
		}
		return true
	})
	return l
}

// Line is the line of field, a full name with array indexes
// ("check[2].command"): its own line, else that of the nearest table or
// key above it that is written (a key missing from its table is placed on
// the table's header); 0 when none is.
func (l Lines) Line(field string) int {
	for f := field; f != ""; {
		if n, ok := l[f]; ok {
			return n
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

// stripIndexes turns "check[2].interval" into "check.interval".
func stripIndexes(k string) string {
	if !strings.Contains(k, "[") {
		return k
	}
	var b strings.Builder
	depth := 0
	for _, r := range k {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func normKey(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// Duration is a time.Duration written as a Go duration string ("90s", "5m").
type Duration struct{ time.Duration }

// UnmarshalText parses a duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"90s\", \"5m\", \"1h\")", string(b))
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText renders the duration as a person writes it: "1m" and "1h",
// not Go's "1m0s" and "1h0m0s".
func (d Duration) MarshalText() ([]byte, error) {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return []byte(s), nil
}

// Size is a byte count written as a number of bytes or as a string with a
// unit: "256MiB", "1GiB", "500MB", "64KiB".
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first, so "MiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// UnmarshalTOML takes a TOML integer or a string with a unit.
func (s *Size) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return fmt.Errorf("negative size %d", v)
		}
		*s = Size(v)
		return nil
	case string:
		return s.UnmarshalText([]byte(v))
	}
	return fmt.Errorf("size must be a number of bytes or a string such as \"256MiB\", not %T", v)
}

// UnmarshalText parses "256MiB" and the like; a bare number is bytes.
func (s *Size) UnmarshalText(b []byte) error {
	str := strings.TrimSpace(string(b))
	num, mult := str, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(str, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(str, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return fmt.Errorf("invalid size %q (want e.g. \"256MiB\", \"1GiB\" or a number of bytes)", str)
	}
	*s = Size(n * mult)
	return nil
}

// MarshalText writes the largest binary unit that divides the size
// exactly, so the effective config shows what was meant.
func (s Size) MarshalText() ([]byte, error) {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.mult == 0 {
			return []byte(strconv.FormatInt(int64(s)/u.mult, 10) + u.suffix), nil
		}
	}
	return []byte(strconv.FormatInt(int64(s), 10) + "B"), nil
}

// FieldLine returns the line of data where field (a dotted key with array
// indexes, such as "rule[2].name") is set, or 0. Files other than the
// agent's (server config, profiles) use it to place their problems.
func FieldLine(data []byte, field string) int {
	return keyLine(data, strings.Split(field, "."))
}

// Problems collects every problem of one file, each placed on its line, so
// that validation reports them all at once.
type Problems struct {
	file string
	data []byte
	list []Problem
}

// NewProblems starts a collector for file, whose content is data.
func NewProblems(file string, data []byte) *Problems {
	return &Problems{file: file, data: data}
}

// Add records a problem with field, a dotted key with array indexes such
// as "check[2].interval", which also finds its line.
func (p *Problems) Add(field, msg string) {
	p.list = append(p.list, Problem{File: p.file, Line: FieldLine(p.data, field), Field: field, Msg: msg})
}

// AddAt records a problem whose line the caller knows (0: none).
func (p *Problems) AddAt(line int, field, msg string) {
	p.list = append(p.list, Problem{File: p.file, Line: line, Field: field, Msg: msg})
}

// Len is how many problems were recorded, so a caller can tell whether a
// step added any.
func (p *Problems) Len() int { return len(p.list) }

// File is the file the problems are about.
func (p *Problems) File() string { return p.file }

// Err returns nil or an *Error with every problem in file order, as an
// editor shows them; problems without a line go first.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	list := slices.Clone(p.list)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Line < list[j].Line })
	return &Error{Problems: list}
}
