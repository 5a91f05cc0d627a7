package builtin

import (
	"fmt"
	"math"
	"strings"
	"unicode"
)

// Threshold is a range whose bounds were written either as percentages
// ("10%", "80%:90%") or as absolute quantities ("500MB", "2h", "5").
type Threshold struct {
	Range
	Percent bool
}

// Evaluate says whether v, or pct when the threshold is a percentage,
// raises the alert.
func (t Threshold) alert(v, pct float64) bool {
	if t.Percent {
		return t.Alert(pct)
	}
	return t.Alert(v)
}

// quantity says how a threshold's absolute bounds are read.
type quantity struct {
	units map[string]float64 // lower-case suffix -> multiplier; "" is the bare number
	// percent allows "%" bounds.
	percent bool
}

// binary sizes: KB and KiB both mean 1024, as check_disk, check_swap and
// Windows Explorer count.
var sizeUnits = map[string]float64{
	"b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
	"p": 1 << 50, "pb": 1 << 50, "pib": 1 << 50,
}

var durationUnits = map[string]float64{
	"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
}

// sizes returns a quantity of bytes whose bare numbers count bare (1 for
// bytes, 1<<20 for check_disk's megabytes).
func sizes(bare float64, percent bool) quantity {
	u := make(map[string]float64, len(sizeUnits)+1)
	for k, v := range sizeUnits {
		u[k] = v
	}
	u[""] = bare
	return quantity{units: u, percent: percent}
}

var (
	plainNumbers = quantity{units: map[string]float64{"": 1}}
	percentOnly  = quantity{units: map[string]float64{"": 1}, percent: true}
	seconds      = quantity{units: durationUnits}
)

// parseThreshold reads a range whose bounds are quantities of q.
func parseThreshold(s string, q quantity) (Threshold, error) {
	var pct, abs bool
	r, err := parseRangeWith(s, func(b string) (float64, error) {
		if b == "0" {
			return 0, nil // zero is zero in any unit: "@0:30%"
		}
		if q.percent && strings.HasSuffix(b, "%") {
			pct = true
			return parseNumber(b[:len(b)-1])
		}
		abs = true
		return q.parse(b)
	})
	if err != nil {
		return Threshold{}, err
	}
	if pct && abs {
		return Threshold{}, fmt.Errorf("%w %q: mixes a percentage and an absolute bound", ErrRange, s)
	}
	return Threshold{Range: r, Percent: pct}, nil
}

// parse reads one number with an optional unit suffix.
func (q quantity) parse(b string) (float64, error) {
	i := strings.IndexFunc(b, func(r rune) bool { return unicode.IsLetter(r) && r != 'e' && r != 'E' })
	num, unit := b, ""
	if i >= 0 {
		num, unit = b[:i], b[i:]
	}
	mult, ok := q.units[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q in %q", unit, b)
	}
	v, err := parseNumber(num)
	if err != nil {
		return 0, err
	}
	return v * mult, nil
}

// humanBytes writes n in the largest binary unit that keeps it >= 1, with
// one decimal: "82.1 GiB".
func humanBytes(n float64) string {
	v, u := scaleBytes(n)
	if u == "B" {
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.1f %s", v, u)
}

// humanPair writes "82.1 of 200.0 GiB", both in the unit of the larger.
func humanPair(part, whole float64) string {
	_, u := scaleBytes(whole)
	div := unitDivisor(u)
	if u == "B" {
		return fmt.Sprintf("%.0f of %.0f B", part, whole)
	}
	return fmt.Sprintf("%.1f of %.1f %s", part/div, whole/div, u)
}

var byteUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}

func scaleBytes(n float64) (float64, string) {
	i := 0
	for math.Abs(n) >= 1024 && i < len(byteUnits)-1 {
		n /= 1024
		i++
	}
	return n, byteUnits[i]
}

func unitDivisor(u string) float64 {
	for i, name := range byteUnits {
		if name == u {
			return math.Pow(1024, float64(i))
		}
	}
	return 1
}

// humanDuration writes a duration in seconds as people read an uptime or a
// file age: "3d 4h 5m", "4m 10s", "12s".
func humanDuration(sec float64) string {
	if sec < 0 {
		return "-" + humanDuration(-sec)
	}
	s := int64(sec)
	d, h, m := s/86400, s%86400/3600, s%3600/60
	s %= 60
	switch {
	case d > 0:
		return fmt.Sprintf("%dd %dh %dm", d, h, m)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// percent is part of whole in percent, 0 for an empty whole.
func percent(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * part / whole
}

// round cuts v to n decimals, so perfdata does not carry float noise.
func round(v float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(v*p) / p
}
