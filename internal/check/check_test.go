package check

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{
		OK: "OK", Warning: "WARNING", Critical: "CRITICAL", Unknown: "UNKNOWN",
		4: "STATE(4)", -1: "STATE(-1)",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestParseState(t *testing.T) {
	good := map[string]State{
		"ok": OK, "OK": OK, "Ok": OK, "0": OK,
		"warning": Warning, "WARNING": Warning, "warn": Warning, "Warn": Warning, "1": Warning,
		"critical": Critical, "CRITICAL": Critical, "crit": Critical, "CRIT": Critical, "2": Critical,
		"unknown": Unknown, "UNKNOWN": Unknown, "3": Unknown,
	}
	for in, want := range good {
		got, err := ParseState(in)
		if err != nil || got != want {
			t.Errorf("ParseState(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4", "-1", "00", " ok", "okay", "warnings", "STATE(1)", "pending"} {
		_, err := ParseState(in)
		if err == nil {
			t.Errorf("ParseState(%q): no error", in)
			continue
		}
		if !errors.Is(err, ErrInvalidState) {
			t.Errorf("ParseState(%q) error %v does not wrap ErrInvalidState", in, err)
		}
		if !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseState(%q) error %q does not quote the input", in, err)
		}
	}
}

func TestStateFromExitCode(t *testing.T) {
	for code, want := range map[int]State{0: OK, 1: Warning, 2: Critical, 3: Unknown} {
		if got, ok := StateFromExitCode(code); !ok || got != want {
			t.Errorf("StateFromExitCode(%d) = %v, %v; want %v, true", code, got, ok, want)
		}
	}
	for _, code := range []int{-1, 4, 127, 255, 1 << 40} {
		if got, ok := StateFromExitCode(code); ok || got != Unknown {
			t.Errorf("StateFromExitCode(%d) = %v, %v; want UNKNOWN, false", code, got, ok)
		}
	}
}

func TestStateText(t *testing.T) {
	var cfg struct {
		TimeoutState State `json:"timeout_state"`
	}
	if err := json.Unmarshal([]byte(`{"timeout_state":"crit"}`), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.TimeoutState != Critical {
		t.Errorf("unmarshalled %v, want CRITICAL", cfg.TimeoutState)
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"timeout_state":"critical"}` {
		t.Errorf("marshalled %s", out)
	}
	for _, s := range []State{OK, Warning, Critical, Unknown} {
		text, err := s.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText(): %v", s, err)
		}
		var back State
		if err := back.UnmarshalText(text); err != nil || back != s {
			t.Errorf("%v -> %q -> %v, %v", s, text, back, err)
		}
	}
	if _, err := State(7).MarshalText(); !errors.Is(err, ErrInvalidState) {
		t.Errorf("State(7).MarshalText() error = %v, want ErrInvalidState", err)
	}
	err = json.Unmarshal([]byte(`{"timeout_state":"bad"}`), &cfg)
	if !errors.Is(err, ErrInvalidState) {
		t.Errorf("unmarshal of a bad state: error %v, want ErrInvalidState", err)
	}
}

func TestResult(t *testing.T) {
	host := Result{Host: "web01", State: OK}
	if !host.IsHostResult() {
		t.Error("result without a service is not a host result")
	}
	svc := Result{
		Host: "web01", Service: "disk_root", State: Warning,
		Output:     "DISK WARNING - free space: / 512 MB (8%)",
		LongOutput: "/ is on /dev/sda1\nchecked in 3ms",
		Perfdata: []Perf{
			{Label: "/", Value: 5600, UOM: "MB", Warn: "5579", Crit: "5890", Min: "0", Max: "6200"},
			{Label: "inodes used", Value: 12, UOM: "%"},
		},
		CheckTime: time.Unix(1700000000, 0), Duration: 3 * time.Millisecond, ExitCode: 1,
	}
	if svc.IsHostResult() {
		t.Error("result with a service is a host result")
	}
	want := "DISK WARNING - free space: / 512 MB (8%) | /=5600MB;5579;5890;0;6200 'inodes used'=12%\n" +
		"/ is on /dev/sda1\nchecked in 3ms"
	if got := svc.PluginOutput(); got != want {
		t.Errorf("PluginOutput()\n got %q\nwant %q", got, want)
	}
}

func TestPluginOutputForms(t *testing.T) {
	tests := []struct {
		r    Result
		want string
	}{
		{Result{Output: "OK"}, "OK"},
		{Result{Output: "OK", LongOutput: "more"}, "OK\nmore"},
		{Result{Output: "", Perfdata: []Perf{{Label: "a", Value: 1}}}, " | a=1"},
		{Result{Output: "", LongOutput: "more"}, "\nmore"},
	}
	for _, tt := range tests {
		if got := tt.r.PluginOutput(); got != tt.want {
			t.Errorf("%+v.PluginOutput() = %q, want %q", tt.r, got, tt.want)
		}
	}
}
