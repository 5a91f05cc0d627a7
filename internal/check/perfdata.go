package check

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Perf is one performance data item, as in the Nagios plugin development
// guidelines: 'label'=value[UOM];[warn];[crit];[min];[max].
//
// Warn, Crit, Min and Max are kept as written, empty when absent. Nagios
// itself never interprets them and graphers differ in what they accept, so
// a threshold in an unusual form is passed on rather than costing the item.
type Perf struct {
	Label string
	// Value is NaN when the plugin reported "U" (undetermined).
	Value float64
	UOM   string
	Warn  string
	Crit  string
	Min   string
	Max   string
}

// IsUndetermined reports whether the plugin could not determine the value
// (it wrote "U").
func (p Perf) IsUndetermined() bool { return math.IsNaN(p.Value) }

// String renders the item in the guidelines' form, quoting the label only
// when it has to and leaving out empty trailing fields. A NaN or infinite
// value is written as "U", the only non-number the guidelines allow; its UOM
// is then dropped because "U" takes none.
func (p Perf) String() string {
	var b strings.Builder
	writeLabel(&b, p.Label)
	b.WriteByte('=')
	if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
		b.WriteByte('U')
	} else {
		b.WriteString(formatValue(p.Value))
		b.WriteString(p.UOM)
	}
	fields := [...]string{p.Warn, p.Crit, p.Min, p.Max}
	n := len(fields)
	for n > 0 && fields[n-1] == "" {
		n--
	}
	for _, f := range fields[:n] {
		b.WriteByte(';')
		b.WriteString(f)
	}
	return b.String()
}

func writeLabel(b *strings.Builder, label string) {
	// An empty label is quoted so that it is at least read back as an
	// empty label instead of as a missing one.
	if label != "" && !strings.ContainsAny(label, "'= \t\n\v\f\r") {
		b.WriteString(label)
		return
	}
	b.WriteByte('\'')
	b.WriteString(strings.ReplaceAll(label, "'", "''"))
	b.WriteByte('\'')
}

// formatValue writes the shortest form that reads back to the same float.
// Plain decimals are preferred because the guidelines only promise
// [-0-9.]; exponents are used only where decimals would run to dozens of
// digits.
func formatValue(v float64) string {
	if a := math.Abs(v); a == 0 || (a >= 1e-6 && a < 1e15) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// PerfError describes one perfdata item that could not be read.
type PerfError struct {
	Item   string // the item as it appeared in the input
	Reason string
}

func (e *PerfError) Error() string {
	return "perfdata item " + strconv.Quote(e.Item) + ": " + e.Reason
}

// ParsePerfdata reads space-separated perfdata items. A bad item does not
// cost the good ones: they are all returned, together with an error that
// joins one *PerfError per bad item (find them with errors.As, or walk the
// Unwrap() []error of the joined error).
func ParsePerfdata(s string) ([]Perf, error) {
	var (
		items []Perf
		errs  []error
	)
	for i := 0; ; {
		i = skipSpace(s, i)
		if i >= len(s) {
			break
		}
		p, next, err := parseItem(s, i)
		if err != nil {
			errs = append(errs, err)
		} else {
			items = append(items, p)
		}
		i = next
	}
	return items, errors.Join(errs...)
}

// parseItem reads the item starting at s[start] and returns where the next
// one may start. On error it skips to the next whitespace, so one bad item
// does not swallow the rest of the line.
func parseItem(s string, start int) (Perf, int, error) {
	var label string
	i := start
	if s[i] == '\'' {
		l, end, ok := scanQuoted(s, i)
		if !ok {
			end := nextSpace(s, start)
			return Perf{}, end, &PerfError{Item: s[start:end], Reason: "unterminated quoted label"}
		}
		if end >= len(s) || s[end] != '=' {
			end := nextSpace(s, end)
			return Perf{}, end, &PerfError{Item: s[start:end], Reason: "quoted label not followed by '='"}
		}
		label, i = l, end+1
	} else {
		j := i
		for j < len(s) && s[j] != '=' && !isSpace(s[j]) {
			j++
		}
		if j >= len(s) || s[j] != '=' {
			return Perf{}, j, &PerfError{Item: s[start:j], Reason: "missing '='"}
		}
		label, i = s[i:j], j+1
	}
	end := nextSpace(s, i)
	p, reason := parseFields(label, s[i:end])
	if reason != "" {
		return Perf{}, end, &PerfError{Item: s[start:end], Reason: reason}
	}
	return p, end, nil
}

// scanQuoted reads a label quoted with single quotes, where two single
// quotes stand for one. end is the index just past the closing quote.
func scanQuoted(s string, open int) (label string, end int, ok bool) {
	var b strings.Builder
	for i := open + 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", len(s), false
}

// parseFields reads value[UOM];[warn];[crit];[min];[max] for the given
// label. It returns the reason the item is bad, or "" when it is good.
func parseFields(label, text string) (Perf, string) {
	if label == "" {
		return Perf{}, "empty label"
	}
	if hasControl(label) {
		return Perf{}, "control character in label"
	}
	fields := strings.Split(text, ";")
	// Some plugins end every item with ';'; extra fields are only an error
	// when they carry something we would otherwise silently drop.
	for _, f := range fields[min(len(fields), 5):] {
		if f != "" {
			return Perf{}, "more than five ';'-separated fields"
		}
	}
	p := Perf{Label: label}
	if reason := parseValue(fields[0], &p); reason != "" {
		return Perf{}, reason
	}
	for k, dst := range []*string{&p.Warn, &p.Crit, &p.Min, &p.Max} {
		if k+1 >= len(fields) {
			break
		}
		if hasControl(fields[k+1]) {
			return Perf{}, "control character in threshold or limit"
		}
		*dst = fields[k+1]
	}
	return p, ""
}

// parseValue reads the value and its unit of measurement into p.
func parseValue(text string, p *Perf) string {
	switch {
	case text == "":
		return "missing value"
	case text == "U":
		p.Value = math.NaN()
		return ""
	}
	n := scanNumber(text)
	if n == 0 {
		return "value " + strconv.Quote(text) + " is not a number"
	}
	v, err := strconv.ParseFloat(text[:n], 64)
	if err != nil {
		// The scanner only passes well-formed decimals, so this is a range
		// error: the value does not fit a float64.
		return "value " + strconv.Quote(text[:n]) + " is out of range"
	}
	uom := text[n:]
	if !validUOM(uom) {
		return "unit of measurement " + strconv.Quote(uom) + " is not letters or %"
	}
	p.Value, p.UOM = v, uom
	return ""
}

// scanNumber returns the length of the decimal number at the start of s:
// [+-]digits[.digits][(e|E)[+-]digits], with digits on at least one side of
// the point. It is stricter than strconv.ParseFloat, which would also take
// "Inf", "NaN", hex floats and underscores.
func scanNumber(s string) int {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0
	}
	// An exponent counts only if digits follow; otherwise the 'e' starts
	// the unit of measurement.
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			i = j
		}
	}
	return i
}

// validUOM accepts letters (any script, for units like "µs"), '%', and the
// '/' and '°' seen in units such as "B/s" and "°C". Digits, signs and points
// are refused: they mean the value itself was malformed, as in "1.2.3".
func validUOM(u string) bool {
	if !utf8.ValidString(u) {
		return false
	}
	for _, r := range u {
		if !unicode.IsLetter(r) && r != '%' && r != '/' && r != '°' {
			return false
		}
	}
	return true
}

// Whitespace is ASCII only, on purpose: the renderer quotes labels on the
// same set, so what it writes always reads back the same.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func nextSpace(s string, i int) int {
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	return i
}

// hasControl reports ASCII control characters, which would break the
// line-based plugin output or the NUL-terminated NSCA fields downstream.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
