package nagios

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nagios4Base holds the objects every Nagios needs besides picket's: a
// timeperiod, a contact that is never notified, and the templates picket's
// objects use by default, carrying what Nagios requires of every host and
// service (check_period, max_check_attempts, contacts, notification
// settings).
const nagios4Base = `define timeperiod {
    timeperiod_name 24x7
    alias           24x7
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define command {
    command_name    notify_nobody
    command_line    /bin/true
}
define contact {
    contact_name                  nobody
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    notify_nobody
    service_notification_commands notify_nobody
}
define host {
    name                  generic-host
    register              0
    check_period          24x7
    max_check_attempts    1
    contacts              nobody
    notification_period   24x7
    notification_interval 0
}
define service {
    name                  generic-service
    register              0
    check_period          24x7
    max_check_attempts    1
    contacts              nobody
    notification_period   24x7
    notification_interval 0
}
`

// nagios4Setup is a minimal Nagios 4 configuration in a temp dir whose
// cfg_dir is Objects, picket's folder.
type nagios4Setup struct {
	Bin, Dir, Config, Objects, CommandFile, StatusFile string
}

// nagios4Binary finds Debian's nagios4; it must be there unless -short.
func nagios4Binary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/nagios4", "nagios4"} {
		if bin, err := exec.LookPath(p); err == nil {
			if _, err := exec.LookPath("/usr/lib/nagios/plugins/check_dummy"); err != nil {
				t.Fatal("check_dummy not found: install Debian's monitoring-plugins-basic (or run .ci/run)")
			}
			return bin
		}
	}
	if testing.Short() {
		t.Skip("nagios4 not found; -short")
	}
	t.Fatal("nagios4 not found: install Debian's nagios4-core (or run .ci/run)")
	return ""
}

func newNagios4(t *testing.T, extra string) *nagios4Setup {
	t.Helper()
	bin := nagios4Binary(t)
	dir := t.TempDir()
	n := &nagios4Setup{Bin: bin, Dir: dir, Config: filepath.Join(dir, "nagios.cfg"),
		Objects: filepath.Join(dir, "objects"), CommandFile: filepath.Join(dir, "nagios.cmd"),
		StatusFile: filepath.Join(dir, "status.dat")}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "checkresults"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "base.cfg"), []byte(nagios4Base), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`log_file=%[1]s/nagios.log
cfg_file=%[1]s/base.cfg
cfg_dir=%[1]s/objects
object_cache_file=%[1]s/objects.cache
precached_object_file=%[1]s/objects.precache
status_file=%[1]s/status.dat
status_update_interval=1
nagios_user=%[2]s
nagios_group=%[3]s
check_external_commands=1
command_file=%[1]s/nagios.cmd
lock_file=%[1]s/nagios.lock
temp_file=%[1]s/nagios.tmp
temp_path=%[1]s
check_result_path=%[1]s/checkresults
state_retention_file=%[1]s/retention.dat
retain_state_information=0
use_syslog=0
enable_notifications=0
illegal_macro_output_chars=~$&|'"<>
%[4]s`, dir, u.Username, g.Name, extra)
	if err := os.WriteFile(n.Config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// verify runs nagios4 -v and returns its output; it fails the test if the
// configuration has errors or warnings.
func (n *nagios4Setup) verify(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(n.Bin, "-v", n.Config).CombinedOutput()
	if err != nil {
		t.Fatalf("nagios4 -v: %v\n%s", err, out)
	}
	for _, re := range []string{`Total Warnings:\s+0\n`, `Total Errors:\s+0\n`} {
		if !regexp.MustCompile(re).Match(out) {
			t.Fatalf("nagios4 -v: no %q:\n%s", re, out)
		}
	}
	return string(out)
}

func (n *nagios4Setup) objects() *Objects {
	return &Objects{Dir: n.Objects, Validate: []string{n.Bin, "-v", n.Config}, CommandFile: n.CommandFile}
}

// TestNagios4ValidatesRenderedObjects: the real nagios4 -v accepts what
// picket renders with no warning, and rejects a broken set, which Sync then
// takes back byte for byte.
func TestNagios4ValidatesRenderedObjects(t *testing.T) {
	n := newNagios4(t, "")
	if err := os.WriteFile(n.CommandFile, nil, 0o600); err != nil { // Nagios is not running
		t.Fatal(err)
	}
	o := n.objects()
	hosts := []HostObject{
		{Name: "web01", Address: "192.0.2.10", Alias: "Web server 1", Services: []ServiceObject{
			{Name: "disk_root", Freshness: 150 * time.Second},
			{Name: "picket_poller", Freshness: 90 * time.Second},
		}},
		{Name: "db01.example.com", Services: []ServiceObject{
			{Name: "backup age", Freshness: 25 * time.Hour},
			{Name: "load", Freshness: time.Minute},
		}},
	}
	res, err := o.Sync(context.Background(), hosts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reloaded || len(res.Written) != 2 {
		t.Errorf("result %+v", res)
	}
	out := n.verify(t)
	for _, want := range []string{"Checked 4 services.", "Checked 2 hosts.", "Checked 2 commands."} {
		if !strings.Contains(out, want) {
			t.Errorf("nagios4 -v does not say %q:\n%s", want, out)
		}
	}

	before := snapshot(t, n.Objects)
	o.Options.ServiceTemplate = "no-such-template"
	_, err = o.Sync(context.Background(), append(hosts, HostObject{Name: "web02", Services: []ServiceObject{{Name: "load", Freshness: time.Minute}}}))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
	for _, want := range []string{"Error: Template 'no-such-template' specified in service definition could not be", "exited with status 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	sameSnapshot(t, snapshot(t, n.Objects), before)
	n.verify(t)
}

// TestNagios4ReadsEscapedValues: the real Nagios reads back the exact values
// that need escaping, as parseObjects (the fuzz test's model) does.
func TestNagios4ReadsEscapedValues(t *testing.T) {
	n := newNagios4(t, "")
	if err := os.WriteFile(n.CommandFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	hosts := []HostObject{
		{Name: `web\01`, Alias: `semi;colon \; twice;; back\`, Address: `10.0.0.1\\`, Services: []ServiceObject{
			{Name: `C:\ drive \`, Freshness: time.Minute},
			{Name: "ünïcode } { #x", Freshness: time.Minute},
		}},
		{Name: "define", Alias: "# not a comment", Address: "}", Services: []ServiceObject{{Name: "x!y", Freshness: time.Second}}},
	}
	if _, err := n.objects().Sync(context.Background(), hosts); err != nil {
		t.Fatal(err)
	}
	n.verify(t)
	out, err := exec.Command(n.Bin, "-v", "-p", n.Config).CombinedOutput()
	if err != nil {
		t.Fatalf("nagios4 -vp: %v\n%s", err, out)
	}
	cached := readPrecache(t, filepath.Join(n.Dir, "objects.precache"))
	for _, h := range hosts {
		host := cached.find("host", "host_name", h.Name)
		if host == nil {
			t.Fatalf("Nagios has no host %q; it has %v", h.Name, cached)
		}
		if host["alias"] != h.Alias || host["address"] != h.Address {
			t.Errorf("Nagios read host %q with alias %q and address %q, want %q and %q", h.Name, host["alias"], host["address"], h.Alias, h.Address)
		}
		for _, s := range h.Services {
			svc := cached.find("service", "service_description", s.Name)
			if svc == nil || svc["host_name"] != h.Name {
				t.Errorf("Nagios has no service %q on %q: %v", s.Name, h.Name, svc)
			}
		}
	}
	cmd := cached.find("command", "command_name", DefaultStaleCommand)
	if cmd == nil || cmd["command_line"] != DefaultCheckDummy+` $ARG1$ "$ARG2$"` {
		t.Errorf("stale command: %v", cmd)
	}
}

type precache []struct {
	kind   string
	fields map[string]string
}

func (p precache) find(kind, key, value string) map[string]string {
	for _, o := range p {
		if o.kind == kind && o.fields[key] == value {
			return o.fields
		}
	}
	return nil
}

// readPrecache reads the objects nagios4 -p wrote: "define kind {", then
// one "\tkey\tvalue" line per directive, then "\t}".
func readPrecache(t *testing.T, path string) precache {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p precache
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if kind, ok := strings.CutPrefix(line, "define "); ok {
			p = append(p, struct {
				kind   string
				fields map[string]string
			}{strings.TrimSuffix(kind, " {"), map[string]string{}})
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "\t"), "\t"); ok && len(p) > 0 {
			p[len(p)-1].fields[k] = v
		}
	}
	return p
}

// TestNagios4StaleAndReload runs the real Nagios: a service without results
// turns stale with picket's text, and a host added by Sync while Nagios runs
// is loaded through RESTART_PROGRAM on the command FIFO.
func TestNagios4StaleAndReload(t *testing.T) {
	// Freshness is checked every second, without the default 15s of slack.
	n := newNagios4(t, "service_freshness_check_interval=1\nadditional_freshness_latency=0\n")
	o := n.objects()
	if _, err := o.Sync(context.Background(), []HostObject{{Name: "web01", Services: []ServiceObject{{Name: "disk_root", Freshness: time.Second}}}}); !errors.Is(err, ErrNoReader) && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("sync before Nagios runs: %v, want a reload error", err)
	}
	n.verify(t)
	startNagios4(t, n)

	st := n.waitStatus(t, "servicestatus", "web01", "disk_root", func(f map[string]string) bool {
		return f["current_state"] == "3" && f["state_type"] == "1"
	})
	if want := "STALE: no result from the picket agent for more than 1s"; !strings.Contains(st["plugin_output"], want) {
		t.Errorf("stale output %q does not say %q", st["plugin_output"], want)
	}

	res, err := o.Sync(context.Background(), []HostObject{
		{Name: "web01", Services: []ServiceObject{{Name: "disk_root", Freshness: time.Second}}},
		{Name: "web02", Services: []ServiceObject{{Name: "load", Freshness: time.Hour}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reloaded || len(res.Written) != 1 || res.Written[0] != "web02" {
		t.Errorf("result %+v", res)
	}
	n.waitStatus(t, "servicestatus", "web02", "load", func(map[string]string) bool { return true })
	n.waitStatus(t, "hoststatus", "web02", "", func(f map[string]string) bool { return f["active_checks_enabled"] == "0" })
}

// startNagios4 runs nagios4 in the foreground in its own process group and
// waits for its command FIFO.
func startNagios4(t *testing.T, n *nagios4Setup) {
	t.Helper()
	cmd := exec.Command(n.Bin, n.Config)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(n.CommandFile); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
			return
		}
		select {
		case <-done:
			t.Fatalf("nagios4 exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nagios4 made no command FIFO in 20s:\n%s", out.String())
		}
	}
}

// waitStatus waits until status.dat has a block of kind for host and
// service (empty for a host) that ok accepts, and returns its fields.
func (n *nagios4Setup) waitStatus(t *testing.T, kind, host, service string, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	block := regexp.MustCompile(`(?s)` + kind + ` \{\n(.*?)\n\s*\}`)
	var last map[string]string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		data, _ := os.ReadFile(n.StatusFile)
		for _, m := range block.FindAllStringSubmatch(string(data), -1) {
			fields := map[string]string{}
			for _, l := range strings.Split(m[1], "\n") {
				k, v, _ := strings.Cut(strings.TrimSpace(l), "=")
				fields[k] = v
			}
			if fields["host_name"] != host || fields["service_description"] != service {
				continue
			}
			last = fields
			if ok(fields) {
				return fields
			}
		}
	}
	t.Fatalf("status.dat: no matching %s for %s/%q; last seen %v", kind, host, service, last)
	return nil
}
