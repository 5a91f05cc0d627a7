package metricstest

import "testing"

func TestValue(t *testing.T) {
	body := `# HELP picket_check_state State.
# TYPE picket_check_state gauge
picket_check_state{host="h",service="disk"} 2
picket_check_state{host="h",service="disk2"} 0
picket_spool_queued{group="target.x"} 1.5e+06
picket_poller_checks 3
`
	for _, tc := range []struct {
		series string
		want   float64
		found  bool
	}{
		{`picket_check_state{host="h",service="disk"}`, 2, true},
		{`picket_check_state{host="h",service="disk2"}`, 0, true},
		{`picket_check_state{host="h",service="dis"}`, 0, false},
		{`picket_spool_queued{group="target.x"}`, 1.5e6, true},
		{`picket_poller_checks`, 3, true},
		{`picket_poller`, 0, false},
		{`picket_check_state`, 0, false},
	} {
		if v, found := Value(body, tc.series); v != tc.want || found != tc.found {
			t.Errorf("Value(%s) = %v, %v; want %v, %v", tc.series, v, found, tc.want, tc.found)
		}
	}
}
