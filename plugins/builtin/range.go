package builtin

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Range is a threshold in the Nagios plugin range syntax
// ([@][start:][end]): a value outside [Start, End] raises the alert, or, with
// Inside ('@'), a value inside it. Start may be -Inf ('~'), End +Inf (empty
// after ':').
//
//	10      alert if < 0 or > 10
//	10:     alert if < 10
//	~:10    alert if > 10
//	10:20   alert if < 10 or > 20
//	@10:20  alert if >= 10 and <= 20
type Range struct {
	Start, End float64
	Inside     bool
}

// ErrRange is wrapped by every error of the range and threshold parsers.
var ErrRange = errors.New("bad threshold")

// ParseRange reads a range of plain numbers.
func ParseRange(s string) (Range, error) {
	return parseRangeWith(s, parseNumber)
}

// parseRangeWith reads the range syntax, reading each bound with num. The
// bound parser does the units, so the same syntax serves counts, sizes and
// durations.
func parseRangeWith(s string, num func(string) (float64, error)) (Range, error) {
	text := s
	r := Range{Start: 0, End: math.Inf(1)}
	if strings.HasPrefix(text, "@") {
		r.Inside = true
		text = text[1:]
	}
	if text == "" {
		return Range{}, fmt.Errorf("%w %q: empty", ErrRange, s)
	}
	startText, endText, hasColon := strings.Cut(text, ":")
	if !hasColon {
		startText, endText = "", text
	}
	switch startText {
	case "":
	case "~":
		r.Start = math.Inf(-1)
	default:
		v, err := num(startText)
		if err != nil {
			return Range{}, fmt.Errorf("%w %q: start: %w", ErrRange, s, err)
		}
		r.Start = v
	}
	if endText != "" {
		v, err := num(endText)
		if err != nil {
			return Range{}, fmt.Errorf("%w %q: end: %w", ErrRange, s, err)
		}
		r.End = v
	} else if !hasColon {
		return Range{}, fmt.Errorf("%w %q: no end", ErrRange, s)
	}
	if r.Start > r.End {
		return Range{}, fmt.Errorf("%w %q: start is greater than end", ErrRange, s)
	}
	return r, nil
}

// parseNumber is strconv.ParseFloat without the forms no threshold means:
// Inf, NaN, hex and underscores.
func parseNumber(s string) (float64, error) {
	if s == "" || strings.ContainsAny(s, "_xXpPiInN") {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// Alert reports whether v raises this range's alert.
func (r Range) Alert(v float64) bool {
	in := v >= r.Start && v <= r.End
	if r.Inside {
		return in
	}
	return !in
}

// String writes the range back in Nagios syntax, in its shortest form, so
// perfdata carries thresholds a grapher can read.
func (r Range) String() string {
	return r.format(formatFloat)
}

func (r Range) format(f func(float64) string) string {
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case math.IsInf(r.Start, -1):
		b.WriteString("~:")
	case r.Start != 0:
		b.WriteString(f(r.Start))
		b.WriteByte(':')
	case math.IsInf(r.End, 1):
		b.WriteString("0:")
	}
	if !math.IsInf(r.End, 1) {
		b.WriteString(f(r.End))
	}
	return b.String()
}

// Scale returns the range with both bounds multiplied by k > 0.
func (r Range) Scale(k float64) Range {
	return Range{Start: r.Start * k, End: r.End * k, Inside: r.Inside}
}

// Mirror turns a range over a free amount into the same range over the
// used amount (used = total - free), so perfdata of used space can carry
// thresholds given for free space.
func (r Range) Mirror(total float64) Range {
	return Range{Start: total - r.End, End: total - r.Start, Inside: r.Inside}
}

// formatFloat writes v as perfdata does: plain decimals, no exponent for
// ordinary sizes, no trailing zeros.
func formatFloat(v float64) string {
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e18) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// formatInt writes v rounded to a whole number, for byte counts.
func formatInt(v float64) string { return strconv.FormatFloat(math.Round(v), 'f', 0, 64) }
