package nagios

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestRenderHostGolden(t *testing.T) {
	h := HostObject{Name: "web01", Address: "192.0.2.10", Alias: "Web server 1", Services: []ServiceObject{
		// Out of order: the output is sorted by service name.
		{Name: "picket_poller", Freshness: 150 * time.Second},
		{Name: "disk_root", Freshness: 90*time.Second + time.Millisecond},
	}}
	got, err := RenderHost(h, ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Header + `define host {
    use                     generic-host
    host_name               web01
    alias                   Web server 1
    address                 192.0.2.10
    active_checks_enabled   0
    passive_checks_enabled  1
    check_freshness         0
    check_command           picket_stale!0!host is monitored through its services by the picket agent
    max_check_attempts      1
}
define service {
    use                     generic-service
    host_name               web01
    service_description     disk_root
    active_checks_enabled   0
    passive_checks_enabled  1
    check_freshness         1
    freshness_threshold     91
    check_command           picket_stale!3!STALE: no result from the picket agent for more than 1m31s
    max_check_attempts      1
}
define service {
    use                     generic-service
    host_name               web01
    service_description     picket_poller
    active_checks_enabled   0
    passive_checks_enabled  1
    check_freshness         1
    freshness_threshold     150
    check_command           picket_stale!3!STALE: no result from the picket agent for more than 2m30s
    max_check_attempts      1
}
`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	again, err := RenderHost(h, ObjectOptions{})
	if err != nil || string(again) != string(got) {
		t.Errorf("second rendering differs (%v):\n%s", err, again)
	}
	if h.Services[0].Name != "picket_poller" {
		t.Error("RenderHost reordered the caller's services")
	}
}

func TestRenderHostDefaultsAndOptions(t *testing.T) {
	h := HostObject{Name: "db1", Services: []ServiceObject{{Name: "load", Freshness: time.Hour}}}
	got, err := RenderHost(h, ObjectOptions{
		HostTemplate:    "linux-server,picket-host",
		ServiceTemplate: "passive-service",
		StaleCommand:    "stale_cmd",
		StaleState:      2,
	})
	if err != nil {
		t.Fatal(err)
	}
	objs := mustParseObjects(t, got)
	host, svc := objs[0], objs[1]
	for k, v := range map[string]string{
		"use": "linux-server,picket-host", "host_name": "db1",
		"alias": "db1", "address": "db1", // default to the name
		"check_command": "stale_cmd!0!" + hostCheckText,
	} {
		if host.get(k) != v {
			t.Errorf("host %s = %q, want %q", k, host.get(k), v)
		}
	}
	for k, v := range map[string]string{
		"use": "passive-service", "freshness_threshold": "3600",
		"check_command": "stale_cmd!2!STALE: no result from the picket agent for more than 1h",
	} {
		if svc.get(k) != v {
			t.Errorf("service %s = %q, want %q", k, svc.get(k), v)
		}
	}

	// A host without services is just the host.
	got, err = RenderHost(HostObject{Name: "lonely"}, ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if objs := mustParseObjects(t, got); len(objs) != 1 || objs[0].kind != "host" {
		t.Errorf("host without services rendered as %v", objs)
	}
}

func TestFreshnessThreshold(t *testing.T) {
	tests := []struct {
		d    time.Duration
		secs string
		text string
	}{
		{150 * time.Second, "150", "2m30s"},
		{150*time.Second + time.Nanosecond, "151", "2m31s"}, // rounded up
		{time.Nanosecond, "1", "1s"},
		{59 * time.Second, "59", "59s"},
		{time.Hour, "3600", "1h"},
		{65 * time.Minute, "3900", "1h5m"},
		{25*time.Hour + 61*time.Second, "90061", "25h1m1s"},
		{math.MaxInt32 * time.Second, "2147483647", "596523h14m7s"},
	}
	for _, tt := range tests {
		got, err := RenderHost(HostObject{Name: "h", Services: []ServiceObject{{Name: "s", Freshness: tt.d}}}, ObjectOptions{})
		if err != nil {
			t.Errorf("%v: %v", tt.d, err)
			continue
		}
		svc := mustParseObjects(t, got)[1]
		if svc.get("freshness_threshold") != tt.secs {
			t.Errorf("%v: freshness_threshold %s, want %s", tt.d, svc.get("freshness_threshold"), tt.secs)
		}
		if want := "picket_stale!3!STALE: no result from the picket agent for more than " + tt.text; svc.get("check_command") != want {
			t.Errorf("%v: check_command %q, want %q", tt.d, svc.get("check_command"), want)
		}
	}
	for _, d := range []time.Duration{0, -time.Second, (math.MaxInt32 + 1) * time.Second} {
		_, err := RenderHost(HostObject{Name: "h", Services: []ServiceObject{{Name: "s", Freshness: d}}}, ObjectOptions{})
		if !errors.Is(err, ErrBadValue) {
			t.Errorf("freshness %v: err %v, want ErrBadValue", d, err)
		}
	}
}

func TestRenderHostEscapes(t *testing.T) {
	h := HostObject{
		Name:     `web\01`,
		Alias:    `a;b \; c;; ends in backslash \`,
		Address:  `10.0.0.1\\`,
		Services: []ServiceObject{{Name: `C:\ drive \`, Freshness: time.Minute}, {Name: "é ünïcode", Freshness: time.Minute}},
	}
	got, err := RenderHost(h, ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`    alias                   a\;b \\; c\;\; ends in backslash \\` + "\n",
		`    address                 10.0.0.1\\\` + "\n",
	} {
		if !strings.Contains(string(got), line) {
			t.Errorf("no line %q in\n%s", line, got)
		}
	}
	objs := mustParseObjects(t, got)
	checkRoundTrip(t, h, ObjectOptions{}, objs)
}

func TestRenderHostRefuses(t *testing.T) {
	ok := ServiceObject{Name: "svc", Freshness: time.Minute}
	tests := []struct {
		name string
		h    HostObject
	}{
		{"empty name", HostObject{Name: ""}},
		{"newline in name", HostObject{Name: "web\n01"}},
		{"tab in name", HostObject{Name: "web\t01"}},
		{"NUL in name", HostObject{Name: "web\x0001"}},
		{"DEL in name", HostObject{Name: "web\x7f"}},
		{"CR in alias", HostObject{Name: "web", Alias: "x\r"}},
		{"semicolon in name", HostObject{Name: "web;01"}},
		{"comma in name", HostObject{Name: "web,01"}},
		{"leading bang", HostObject{Name: "!web"}},
		{"leading plus", HostObject{Name: "+web"}},
		{"star", HostObject{Name: "*"}},
		{"null", HostObject{Name: "null"}},
		{"leading blank", HostObject{Name: " web"}},
		{"trailing blank in address", HostObject{Name: "web", Address: "10.0.0.1 "}},
		{"newline in address", HostObject{Name: "web", Address: "10.0.0.1\ndefine host {"}},
		{"bad service name", HostObject{Name: "web", Services: []ServiceObject{{Name: "a;b", Freshness: time.Minute}}}},
		{"empty service name", HostObject{Name: "web", Services: []ServiceObject{{Freshness: time.Minute}}}},
		{"service twice", HostObject{Name: "web", Services: []ServiceObject{ok, ok}}},
		{"no freshness", HostObject{Name: "web", Services: []ServiceObject{{Name: "svc"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderHost(tt.h, ObjectOptions{})
			if !errors.Is(err, ErrBadValue) || got != nil {
				t.Errorf("got %q, %v; want ErrBadValue", got, err)
			}
		})
	}

	// Every problem is reported at once.
	_, err := RenderHost(HostObject{Name: "a,b", Alias: "\n", Services: []ServiceObject{{Name: "*", Freshness: -1}}}, ObjectOptions{})
	for _, want := range []string{`host name "a,b"`, `alias "\n"`, `service name "*"`, "freshness threshold -1ns"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestObjectOptionsRefused(t *testing.T) {
	tests := []ObjectOptions{
		{HostTemplate: "a;b\n"},
		{ServiceTemplate: " x"},
		{StaleCommand: "stale!1"},
		{StaleCommand: "stale cmd"},
		{StaleCommand: "null"},
		{CheckDummy: "/opt/my plugins/check_dummy"},
		{CheckDummy: "/opt/$USER1$/check_dummy"},
		{CheckDummy: `/opt/"x"/check_dummy`},
		{CheckDummy: "/opt/x;y/check_dummy"},
		{StaleState: -1},
		{StaleState: 4},
	}
	h := HostObject{Name: "web", Services: []ServiceObject{{Name: "svc", Freshness: time.Minute}}}
	for _, o := range tests {
		if _, err := RenderHost(h, o); !errors.Is(err, ErrBadValue) {
			t.Errorf("RenderHost with %+v: %v, want ErrBadValue", o, err)
		}
		if _, err := RenderCommands(o); !errors.Is(err, ErrBadValue) {
			t.Errorf("RenderCommands with %+v: %v, want ErrBadValue", o, err)
		}
	}
}

func TestRenderCommands(t *testing.T) {
	got, err := RenderCommands(ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Header + `define command {
    command_name            picket_stale
    command_line            /usr/lib/nagios/plugins/check_dummy $ARG1$ "$ARG2$"
}
`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	got, err = RenderCommands(ObjectOptions{StaleCommand: "my.stale-1", CheckDummy: "/opt/plugins/check_dummy"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := mustParseObjects(t, got)[0]
	if cmd.get("command_name") != "my.stale-1" || cmd.get("command_line") != `/opt/plugins/check_dummy $ARG1$ "$ARG2$"` {
		t.Errorf("got %v", cmd)
	}
}

// FuzzRenderHost: whatever the names, RenderHost either refuses them or
// writes a file that Nagios' reader (modelled by parseObjects, checked
// against the real nagios4 in TestNagios4ReadsEscapedValues) reads back as
// exactly one host and its services, each directive with its own key and
// the value that was given.
func FuzzRenderHost(f *testing.F) {
	f.Add("web01", "192.0.2.1", "Web 1", "disk_root", "load", int64(time.Minute))
	f.Add(`a\`, `b\\`, `c;d\;`, `x}`, "define host {", int64(3))
	f.Add("}", "{", "#x;", `\`, `\\`, int64(time.Second))
	f.Add("h", "a", "b", ";", "s", int64(-1))
	f.Add("h", "", "", "s\nmax_check_attempts 5", "t", int64(time.Hour))
	f.Add("h", "a\\\nb", "", "s", "s", int64(time.Second))
	f.Fuzz(func(t *testing.T, name, address, alias, svc1, svc2 string, fresh int64) {
		h := HostObject{Name: name, Address: address, Alias: alias, Services: []ServiceObject{
			{Name: svc1, Freshness: time.Duration(fresh)},
			{Name: svc2, Freshness: time.Duration(fresh) / 3},
		}}
		out, err := RenderHost(h, ObjectOptions{})
		if err != nil {
			if !errors.Is(err, ErrBadValue) {
				t.Fatalf("error does not wrap ErrBadValue: %v", err)
			}
			return
		}
		if !strings.HasPrefix(string(out), Header) {
			t.Fatalf("no header:\n%s", out)
		}
		objs, err := parseObjects(out)
		if err != nil {
			t.Fatalf("%v in\n%s", err, out)
		}
		checkRoundTrip(t, h, ObjectOptions{}, objs)
	})
}

// checkRoundTrip asserts that objs are exactly what RenderHost must write for
// h: the host, then its services by name, each with its keys in order and
// the given values.
func checkRoundTrip(t *testing.T, h HostObject, o ObjectOptions, objs []object) {
	t.Helper()
	o, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1+len(h.Services) {
		t.Fatalf("%d objects, want %d: %v", len(objs), 1+len(h.Services), objs)
	}
	alias, address := h.Alias, h.Address
	if alias == "" {
		alias = h.Name
	}
	if address == "" {
		address = h.Name
	}
	wantHost := []kv{
		{"use", o.HostTemplate}, {"host_name", h.Name}, {"alias", alias}, {"address", address},
		{"active_checks_enabled", "0"}, {"passive_checks_enabled", "1"}, {"check_freshness", "0"},
		{"check_command", o.StaleCommand + "!0!" + hostCheckText}, {"max_check_attempts", "1"},
	}
	checkObject(t, objs[0], "host", wantHost)
	names := map[string]bool{}
	for i, obj := range objs[1:] {
		svc := obj.get("service_description")
		if i > 0 && svc <= objs[i].get("service_description") {
			t.Errorf("services not sorted: %q after %q", svc, objs[i].get("service_description"))
		}
		var given *ServiceObject
		for j := range h.Services {
			if h.Services[j].Name == svc {
				given = &h.Services[j]
			}
		}
		if given == nil || names[svc] {
			t.Fatalf("service %q was not given once", svc)
		}
		names[svc] = true
		secs, _ := thresholdSeconds(given.Freshness)
		checkObject(t, obj, "service", []kv{
			{"use", o.ServiceTemplate}, {"host_name", h.Name}, {"service_description", svc},
			{"active_checks_enabled", "0"}, {"passive_checks_enabled", "1"}, {"check_freshness", "1"},
			{"freshness_threshold", fmt.Sprint(secs)}, {"check_command", staleCheckCommand(o, secs)},
			{"max_check_attempts", "1"},
		})
	}
}

func checkObject(t *testing.T, obj object, kind string, want []kv) {
	t.Helper()
	if obj.kind != kind {
		t.Fatalf("object %v, want a %s", obj, kind)
	}
	if len(obj.dirs) != len(want) {
		t.Fatalf("%s has directives %q, want %q", kind, obj.dirs, want)
	}
	for i := range want {
		if obj.dirs[i] != want[i] {
			t.Errorf("%s directive %d: got %q, want %q", kind, i, obj.dirs[i], want[i])
		}
	}
}

type kv struct{ key, value string }

type object struct {
	kind string
	dirs []kv
}

func (o object) get(key string) string {
	for _, d := range o.dirs {
		if d.key == key {
			return d.value
		}
	}
	return ""
}

func mustParseObjects(t *testing.T, b []byte) []object {
	t.Helper()
	objs, err := parseObjects(b)
	if err != nil {
		t.Fatalf("%v in\n%s", err, b)
	}
	return objs
}

// parseObjects reads an object file the way Nagios 4.4's xodtemplate does:
// lines ending in one '\' continue on the next (whose leading blanks go),
// a line ending in "\\" loses its last '\', an unescaped ';' starts a
// comment and "\;" is a ';', blanks around lines are stripped, '#' lines
// and blank lines are skipped, "define <type> {" opens an object, a lone
// "}" closes it, and every other line is a key, blanks, and the value.
func parseObjects(b []byte) ([]object, error) {
	var objs []object
	var cur *object
	raw := strings.SplitAfter(string(b), "\n")
	for i := 0; i < len(raw); i++ {
		line := strings.TrimSuffix(raw[i], "\n")
		for {
			if strings.HasSuffix(line, `\\`) {
				line = line[:len(line)-1]
				break
			}
			if !strings.HasSuffix(line, `\`) || i+1 >= len(raw) {
				break
			}
			i++
			line = line[:len(line)-1] + strings.TrimLeft(strings.TrimSuffix(raw[i], "\n"), " \t")
		}
		line = uncomment(line)
		line = strings.Trim(line, " \t\r\n")
		switch {
		case line == "" || line[0] == '#':
		case strings.HasPrefix(line, "define"):
			if cur != nil {
				return nil, fmt.Errorf("line %d: define inside a definition", i+1)
			}
			kind, ok := strings.CutSuffix(strings.TrimSpace(line[len("define"):]), "{")
			if !ok {
				return nil, fmt.Errorf("line %d: %q: no {", i+1, line)
			}
			cur = &object{kind: strings.TrimSpace(kind)}
		case cur == nil:
			return nil, fmt.Errorf("line %d: %q outside a definition", i+1, line)
		case line == "}":
			objs = append(objs, *cur)
			cur = nil
		default:
			key, value, _ := strings.Cut(line, " ")
			if k, v, ok := strings.Cut(key, "\t"); ok {
				key, value = k, v+" "+value
			}
			cur.dirs = append(cur.dirs, kv{key, strings.Trim(value, " \t")})
		}
	}
	if cur != nil {
		return nil, errors.New("unterminated definition")
	}
	return objs, nil
}

// uncomment is xodtemplate_handle_semicolons.
func uncomment(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] != ';' {
			continue
		}
		if i == 0 || line[i-1] != '\\' {
			return b.String() + line[:i]
		}
		b.WriteString(line[:i-1])
		line = line[i:]
		i = 0
	}
	return b.String() + line
}

func TestRenderHostChecks(t *testing.T) {
	tests := []struct {
		name string
		h    HostObject
		want []string
		not  []string
	}{
		{"fresh from its agent", HostObject{Name: "web01", Freshness: 11*time.Minute + time.Millisecond}, []string{
			"check_freshness         1\n", "freshness_threshold     661\n",
			"check_command           picket_stale!2!DOWN: no report from the picket agent for more than 11m1s\n",
			"active_checks_enabled   0\n",
		}, []string{"check_interval"}},
		{"active check from the profile", HostObject{Name: "web01", Freshness: time.Minute, CheckCommand: "check_ping!100.0,20%!500.0,60%"}, []string{
			"active_checks_enabled   1\n", "check_command           check_ping!100.0,20%!500.0,60%\n",
			"check_freshness         0\n", "check_interval          5\n", "max_check_attempts      3\n",
		}, []string{"freshness_threshold"}},
		{"no host results", HostObject{Name: "router1"}, []string{
			"check_freshness         0\n", "host is monitored through its services",
		}, []string{"freshness_threshold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderHost(tt.h, ObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			host, _, _ := strings.Cut(string(got), "define service")
			for _, w := range tt.want {
				if !strings.Contains(host, w) {
					t.Errorf("host object lacks %q:\n%s", w, host)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(host, n) {
					t.Errorf("host object has %q:\n%s", n, host)
				}
			}
		})
	}
	for _, bad := range []HostObject{
		{Name: "web01", CheckCommand: "check_ping\ndefine"},
		{Name: "web01", CheckCommand: "!x"},
		{Name: "web01", Freshness: -time.Second},
	} {
		if _, err := RenderHost(bad, ObjectOptions{}); !errors.Is(err, ErrBadValue) {
			t.Errorf("%+v: err %v, want ErrBadValue", bad, err)
		}
	}
}
