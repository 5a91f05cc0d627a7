package check

import (
	"maps"
	"testing"
)

func TestMacroSetRoundTrip(t *testing.T) {
	for _, m := range []map[string]string{
		nil,
		{"USER2": "/opt/plugins"},
		{"B": "x=y", "A": "", "USER3": "pa$$ w"},
	} {
		s := NewMacroSet(m)
		got := s.Map()
		if len(m) == 0 && got != nil {
			t.Errorf("NewMacroSet(%v).Map() = %v, want nil", m, got)
		}
		if len(m) > 0 && !maps.Equal(got, m) {
			t.Errorf("NewMacroSet(%v).Map() = %v", m, got)
		}
	}
	// Canonical: the same macros in any insertion order are equal, so a
	// check whose macros did not change compares equal.
	a := NewMacroSet(map[string]string{"A": "1", "B": "2"})
	b := NewMacroSet(map[string]string{"B": "2", "A": "1"})
	if a != b {
		t.Errorf("%q != %q", a, b)
	}
	if NewMacroSet(map[string]string{"A": "1"}) == NewMacroSet(map[string]string{"A": "2"}) {
		t.Error("different values encode the same")
	}
}
