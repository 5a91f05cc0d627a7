package checkspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/tomlfile"
)

func TestResolveFile(t *testing.T) {
	data := []byte(`[macros]
USER5 = "/opt/x"

[[check]]
service = "disk"
command = "check_disk $USER5$"

[[check]]
service = "load"
command = "check_load"
interval = "1m"
`)
	specs := []Spec{
		{Service: "disk", Command: "check_disk $USER5$"},
		{Service: "load", Command: "check_load", Interval: tomlfile.Duration{Duration: 60e9}},
	}
	probs := tomlfile.NewProblems("db1.toml", data)
	got := ResolveFile(probs, specs, Defaults{}, Macros{"USER5": "/opt/x"}, "db1", "10.0.0.9")
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Host != "db1" || got[0].HostAddress != "10.0.0.9" || got[0].Interval != DefaultInterval {
		t.Fatalf("ResolveChecks = %+v", got)
	}
	if got[1].Macros != check.NewMacroSet(map[string]string{"USER5": "/opt/x"}) {
		t.Errorf("macros not attached: %q", got[1].Macros)
	}

	// Every problem, each on its line of the file it came from.
	specs[1].Interval = tomlfile.Duration{}
	specs[1].Command = ""
	probs = tomlfile.NewProblems("db1.toml", data)
	ResolveFile(probs, specs, Defaults{}, Macros{"HOSTNAME": "x"}, "db1", "")
	err := probs.Err()
	var cerr *tomlfile.Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 2 {
		t.Fatalf("err = %v, want 2 problems", err)
	}
	msg := err.Error()
	for _, want := range []string{"db1.toml", "macros.HOSTNAME", "check[1].command", ":10:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}
