package builtin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/picket-monitoring/picket/internal/check"
)

func TestProcs(t *testing.T) {
	sys := &fakeOS{self: 99, procs: []Process{
		{PID: 1, PPID: 0, Name: "init", Args: "/sbin/init", User: "root", UID: 0, State: "S"},
		{PID: 2, PPID: 0, Name: "kthreadd", User: "root", UID: 0, State: "S", Kernel: true},
		{PID: 10, PPID: 1, Name: "sshd", Args: "/usr/sbin/sshd -D", User: "root", UID: 0, State: "S"},
		{PID: 11, PPID: 10, Name: "sshd", Args: "sshd: alice [priv]", User: "root", UID: 0, State: "S"},
		{PID: 20, PPID: 1, Name: "worker", Args: "worker --queue=mail", User: "alice", UID: 1000, State: "R"},
		{PID: 21, PPID: 20, Name: "worker", Args: "worker --queue=mail", User: "alice", UID: 1000, State: "Z"},
		{PID: 99, PPID: 1, Name: "picket", Args: "picket plugin procs -a queue=mail", User: "root", UID: 0, State: "R"},
	}}
	tests := []struct {
		args []string
		want want
	}{
		{nil, want{check.OK, "PROCS OK - 6 processes", "procs=6;;;0"}},
		{[]string{"-C", "sshd"}, want{check.OK, "PROCS OK - 2 processes with command name 'sshd'", ""}},
		{[]string{"-C", "sshd", "-c", "1:1"}, want{check.Critical, "PROCS CRITICAL - 2 processes with command name 'sshd'", "procs=2;;1:1;0"}},
		{[]string{"-a", "queue=mail"}, want{check.OK, "PROCS OK - 2 processes with args 'queue=mail'", ""}},
		{[]string{"-a", `^sshd: \w+`}, want{check.OK, "~1 process with args", ""}},
		{[]string{"-u", "alice", "-w", "1"}, want{check.Warning, "PROCS WARNING - 2 processes with user 'alice'", "procs=2;1;;0"}},
		{[]string{"-u", "1000", "-s", "Z"}, want{check.OK, "PROCS OK - 1 process with user '1000', state 'Z'", ""}},
		{[]string{"-s", "RZ"}, want{check.OK, "~2 processes", ""}},
		{[]string{"-p", "10"}, want{check.OK, "PROCS OK - 1 process with parent 10", ""}},
		{[]string{"-k"}, want{check.OK, "PROCS OK - 5 processes", ""}},
		{[]string{"-C", "nginx", "-c", "1:"}, want{check.Critical, "PROCS CRITICAL - 0 processes with command name 'nginx'", "procs=0;;1:;0"}},
		{[]string{"-C", "worker", "-a", "mail", "-u", "alice", "-w", "@2"}, want{check.Warning, "~2 processes with command name 'worker', args 'mail', user 'alice'", ""}},
	}
	for _, tt := range tests {
		tt.want.check(t, fmt.Sprint(tt.args), runCheck(t, sys, "procs", tt.args...))
	}

	win := &procsCheck{name: "Spooler.EXE", user: "bob", windows: true, ppid: -1}
	for _, p := range []Process{{Name: "spooler.exe", User: `HOST\Bob`, UID: -1}, {Name: "spooler", User: "bob", UID: -1}} {
		if !win.match(p) {
			t.Errorf("windows matching: %+v does not match", p)
		}
	}
	b, _ := Lookup("procs")
	for _, args := range [][]string{{"-a", "("}, {"-p", "x"}, {"-w", "1:0"}} {
		if _, err := b.New(args); !errors.Is(err, ErrUsage) {
			t.Errorf("procs %v: %v, want ErrUsage", args, err)
		}
	}
}

func TestService(t *testing.T) {
	sys := &fakeOS{services: map[string]ServiceStatus{
		"sshd":    {Name: "sshd", State: ServiceRunning, Detail: "running", StartType: "enabled"},
		"cron":    {Name: "cron", State: ServiceFailed, Detail: "failed", StartType: "enabled"},
		"Spooler": {Name: "Spooler", State: ServiceStarting, Detail: "start pending", StartType: "auto"},
		"backup":  {Name: "backup", State: ServiceStopped, Detail: "dead", StartType: "disabled"},
	}}
	tests := []struct {
		args []string
		want want
	}{
		{[]string{"sshd"}, want{check.OK, "SERVICE OK - sshd running, start type enabled", ""}},
		{[]string{"sshd", "cron"}, want{check.Critical, "SERVICE CRITICAL - sshd running, start type enabled, cron failed, start type enabled (want running)", ""}},
		{[]string{"Spooler"}, want{check.Warning, "SERVICE WARNING - Spooler starting (start pending), start type auto (want running)", ""}},
		{[]string{"-s", "stopped", "backup"}, want{check.OK, "SERVICE OK - backup stopped (dead), start type disabled", ""}},
		{[]string{"-t", "auto", "sshd"}, want{check.Warning, "SERVICE WARNING - sshd running, start type enabled, want auto", ""}},
		{[]string{"nosuch", "-s", "running"}, want{check.Critical, "SERVICE CRITICAL - nosuch does not exist", ""}},
		{[]string{"-n", "sshd"}, want{check.OK, "~sshd running", ""}},
	}
	for _, tt := range tests {
		tt.want.check(t, fmt.Sprint(tt.args), runCheck(t, sys, "service", tt.args...))
	}
	none := &fakeOS{err: fmt.Errorf("%w: systemd is not running on this host", ErrNoServiceManager)}
	want{check.Unknown, "SERVICE UNKNOWN - no service manager: systemd is not running on this host", ""}.check(t, "no systemd", runCheck(t, none, "service", "sshd"))
	b, _ := Lookup("service")
	for _, args := range [][]string{nil, {"-s", "sleeping", "x"}} {
		if _, err := b.New(args); !errors.Is(err, ErrUsage) {
			t.Errorf("service %v: %v, want ErrUsage", args, err)
		}
	}
}

func TestSystemctlShow(t *testing.T) {
	tests := []struct {
		out, state, detail, start string
		err                       error
	}{
		{"LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n", ServiceRunning, "running", "enabled", nil},
		{"LoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\n", ServiceFailed, "failed", "enabled", nil},
		{"LoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\n", ServiceStopped, "dead", "disabled", nil},
		{"LoadState=loaded\nActiveState=activating\nSubState=start-pre\nUnitFileState=static\n", ServiceStarting, "start-pre", "static", nil},
		{"LoadState=masked\nActiveState=inactive\nSubState=dead\nUnitFileState=masked\n", ServiceStopped, "dead", "masked", nil},
		{"LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n", "", "", "", ErrNoService},
		{"garbage", "", "", "", nil},
	}
	for _, tt := range tests {
		s, err := parseSystemctlShow("u", tt.out)
		if tt.state == "" {
			if err == nil || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Errorf("%q: %+v, %v; want error %v", tt.out, s, err, tt.err)
			}
			continue
		}
		if err != nil || s.State != tt.state || s.Detail != tt.detail || s.StartType != tt.start {
			t.Errorf("%q: %+v, %v", tt.out, s, err)
		}
	}
}

func TestFileAgeAndSize(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	sys := &fakeOS{now: now, files: map[string]fakeFile{
		"/var/backups/a.tar": {size: 5 << 20, mod: now.Add(-2 * time.Hour)},
		"/var/backups/b.tar": {size: 0, mod: now.Add(-30 * time.Hour)},
		"/etc/passwd":        {size: 1424, mod: now.Add(-100 * time.Second)},
	}}
	tests := []struct {
		name string
		args []string
		want want
	}{
		{"file_age", []string{"-f", "/etc/passwd"}, want{check.OK, "FILE_AGE OK - /etc/passwd is 1m 40s old and 1.4 KiB", "age=100s;240;600 size=1424B;;;0"}},
		{"file_age", []string{"-w", "60", "-c", "120", "-f", "/etc/passwd"}, want{check.Warning, "~is 1m 40s old and 1.4 KiB WARNING", "age=100s;60;120 size=1424B;;;0"}},
		{"file_age", []string{"-w", "25h", "-c", "49h", "-f", "/var/backups/*.tar"}, want{check.Warning,
			"FILE_AGE WARNING - /var/backups/a.tar is 2h 0m old and 5.0 MiB, /var/backups/b.tar is 1d 6h 0m old and 0 B WARNING",
			"'age /var/backups/a.tar'=7200s;90000;176400 '/size /var/backups/a.tar'=5242880B;;;0"}},
		{"file_age", []string{"-w", "2d", "-C", "1", "-f", "/var/backups/*.tar"}, want{check.Critical, "~b.tar is 1d 6h 0m old and 0 B CRITICAL", ""}},
		{"file_age", []string{"-f", "/nonexistent"}, want{check.Critical, "FILE_AGE CRITICAL - /nonexistent does not exist", ""}},
		{"file_age", []string{"-i", "-f", "/nonexistent"}, want{check.OK, "FILE_AGE OK - no file matches /nonexistent", ""}},
		{"file_age", []string{"-f", "/tmp/*.none"}, want{check.Critical, "FILE_AGE CRITICAL - no file matches /tmp/*.none", ""}},
		{"file_size", []string{"-w", "1MB", "-c", "10MB", "-f", "/var/backups/*"}, want{check.Warning,
			"FILE_SIZE WARNING - /var/backups/a.tar is 5.0 MiB WARNING, /var/backups/b.tar is 0 B",
			"'size /var/backups/a.tar'=5242880B;1048576;10485760;0 'size /var/backups/b.tar'=0B;1048576;10485760;0"}},
		{"file_size", []string{"-c", "1:", "/var/backups/b.tar"}, want{check.Critical, "FILE_SIZE CRITICAL - /var/backups/b.tar is 0 B CRITICAL", "size=0B;;1:;0"}},
	}
	for _, tt := range tests {
		if strings.HasPrefix(tt.want.perf, "'age /var/backups/a.tar'") {
			tt.want.perf = "" // checked below, the row is long enough
		}
		tt.want.check(t, fmt.Sprint(tt.name, tt.args), runCheck(t, sys, tt.name, tt.args...))
	}
	b, _ := Lookup("file_age")
	if _, err := b.New([]string{"-w", "1"}); !errors.Is(err, ErrUsage) {
		t.Errorf("file_age without -f: %v", err)
	}
}

func TestEventlog(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	sys := &fakeOS{events: []Event{
		{Record: 1, Time: at, Source: "Old", Level: "error", ID: 1, Message: "before picket"},
	}}
	args := []string{"-l", "System", "-L", "error,warning", "-c", "0"}
	want{check.OK, "EVENTLOG OK - first run: reading System after record 1 from now on", "events=0;;;0"}.check(t, "first run", runCheck(t, sys, "eventlog", args...))
	want{check.OK, "EVENTLOG OK - 0 new error/warning events in System", "events=0;;0;0"}.check(t, "nothing new", runCheck(t, sys, "eventlog", args...))

	sys.events = append(sys.events,
		Event{Record: 2, Time: at, Source: "Disk", Level: "warning", ID: 51, Message: "An error was detected on device \\Device\\Harddisk0\\DR0"},
		Event{Record: 3, Time: at, Source: "Service Control Manager", Level: "information", ID: 7036, Message: "running"},
		Event{Record: 4, Time: at, Source: "Ntfs", Level: "error", ID: 55, Message: "corrupt | structure"},
	)
	r := runCheck(t, sys, "eventlog", args...)
	want{check.Critical, "EVENTLOG CRITICAL - 2 new error/warning events in System, last: error Ntfs 55: corrupt / structure", "events=2;;0;0"}.check(t, "new events", r)
	if !strings.Contains(r.LongOutput, "2026-05-01 12:00:00Z warning Disk 51: An error was detected") {
		t.Errorf("long output %q", r.LongOutput)
	}
	want{check.OK, "~0 new", ""}.check(t, "read again", runCheck(t, sys, "eventlog", args...))

	// Another filter set keeps its own position: its first run starts at
	// the end, not where the first check stands.
	want{check.OK, "~first run: reading System after record 4", ""}.check(t, "own state", runCheck(t, sys, "eventlog", "-l", "System", "-i", "55"))

	sys.events = append(sys.events, Event{Record: 5, Source: "Ntfs", Level: "error", ID: 55}, Event{Record: 6, Source: "Disk", Level: "error", ID: 7})
	want{check.Warning, "~1 new error/warning events", ""}.check(t, "by id", runCheck(t, sys, "eventlog", "-l", "System", "-i", "55"))
	bySource := []string{"-l", "System", "-s", "Disk", "-m", "block", "--name", "x"}
	want{check.OK, "~first run", ""}.check(t, "by source, first", runCheck(t, sys, "eventlog", bySource...))
	sys.events = append(sys.events, Event{Record: 7, Source: "disk", Level: "error", ID: 7, Message: "bad block"},
		Event{Record: 8, Source: "disk", Level: "error", ID: 7, Message: "all fine"})
	want{check.Warning, "~1 new error/warning events", ""}.check(t, "by source", runCheck(t, sys, "eventlog", bySource...))
	if _, ok := sys.state["x"]; !ok {
		t.Errorf("--name x: state saved as %v", sys.state)
	}

	noDir := &fakeOS{noState: true}
	want{check.Unknown, "~set PICKET_STATE_DIR", ""}.check(t, "no state dir", runCheck(t, noDir, "eventlog"))
	linux := &fakeOS{err: fmt.Errorf("the event log exists only on Windows: %w", ErrUnsupported)}
	want{check.Unknown, "EVENTLOG UNKNOWN - the event log exists only on Windows", ""}.check(t, "linux", runCheck(t, linux, "eventlog"))

	b, _ := Lookup("eventlog")
	for _, a := range [][]string{{"-L", "fatal"}, {"-i", "x"}, {"--name", "../x"}, {"-m", "("}} {
		if _, err := b.New(a); !errors.Is(err, ErrUsage) {
			t.Errorf("eventlog %v: %v", a, err)
		}
	}
}

// eventRecord builds an EVENTLOGRECORD as ReadEventLogW returns it.
func eventRecord(rec, id uint32, typ uint16, source string, strs ...string) []byte {
	u16 := func(s string) []byte {
		var b []byte
		for _, c := range append(utf16.Encode([]rune(s)), 0) {
			b = binary.LittleEndian.AppendUint16(b, c)
		}
		return b
	}
	body := append(u16(source), u16("HOST")...)
	strOff := evtHeaderLen + len(body)
	for _, s := range strs {
		body = append(body, u16(s)...)
	}
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := evtHeaderLen + len(body) + 4
	h := make([]byte, evtHeaderLen)
	le := binary.LittleEndian
	le.PutUint32(h[0:], uint32(n))
	le.PutUint32(h[4:], evtSignature)
	le.PutUint32(h[8:], rec)
	le.PutUint32(h[12:], 1777636800)
	le.PutUint32(h[20:], id|0x40000000) // severity bits Event Viewer hides
	le.PutUint16(h[24:], typ)
	le.PutUint16(h[26:], uint16(len(strs)))
	le.PutUint32(h[36:], uint32(strOff))
	out := append(h, body...)
	return le.AppendUint32(out, uint32(n))
}

func TestParseEventRecords(t *testing.T) {
	buf := append(eventRecord(7, 51, 2, "disk", "\\Device\\Harddisk0", "bad block"), eventRecord(8, 7036, 4, "Service Control Manager")...)
	evs, err := parseEventRecords(buf)
	if err != nil || len(evs) != 2 {
		t.Fatalf("%v, %d events", err, len(evs))
	}
	if e := evs[0]; e.Record != 7 || e.ID != 51 || e.Level != "warning" || e.Source != "disk" || e.Message != `\Device\Harddisk0 bad block` || e.Time.Unix() != 1777636800 {
		t.Errorf("first: %+v", e)
	}
	if e := evs[1]; e.Record != 8 || e.ID != 7036 || e.Level != "information" || e.Source != "Service Control Manager" || e.Message != "" {
		t.Errorf("second: %+v", e)
	}
	for _, bad := range [][]byte{buf[:10], buf[:60], append([]byte{1, 2, 3, 4}, buf[4:]...)} {
		if _, err := parseEventRecords(bad); err == nil {
			t.Errorf("no error for %d broken bytes", len(bad))
		}
	}
}

func FuzzParseEventRecords(f *testing.F) {
	f.Add(eventRecord(1, 2, 1, "src", "a", "b"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := parseEventRecords(b)
		if err == nil && len(b) > 0 && len(evs) == 0 {
			t.Fatalf("%d bytes, no events and no error", len(b))
		}
	})
}

func TestReadStart(t *testing.T) {
	for _, tt := range []struct {
		after, oldest, newest, start uint64
		ok                           bool
	}{
		{10, 1, 10, 0, false}, {5, 1, 10, 6, true}, {0, 1, 10, 1, true},
		{20, 1, 10, 1, true}, {2, 5, 10, 5, true}, {4, 5, 10, 5, true},
	} {
		if s, ok := readStart(tt.after, tt.oldest, tt.newest); s != tt.start || ok != tt.ok {
			t.Errorf("readStart(%d, %d, %d) = %d, %v", tt.after, tt.oldest, tt.newest, s, ok)
		}
	}
	if s, d := scmState(4); s != ServiceRunning || d != "running" {
		t.Errorf("scmState(4) = %s, %s", s, d)
	}
	if scmStartType(2, true) != "delayed-auto" || scmStartType(3, false) != "manual" {
		t.Error("scmStartType")
	}
}
