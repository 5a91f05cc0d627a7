package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nagiosObjects defines one passive-only host with one service: Nagios drops
// results for objects it does not know, so the test must define them.
const nagiosObjects = `define timeperiod {
  timeperiod_name 24x7
  alias 24x7
  sunday 00:00-24:00
  monday 00:00-24:00
  tuesday 00:00-24:00
  wednesday 00:00-24:00
  thursday 00:00-24:00
  friday 00:00-24:00
  saturday 00:00-24:00
}
define command {
  command_name check_dummy
  command_line /usr/lib/nagios/plugins/check_dummy 0
}
define contact {
  contact_name nobody
  host_notifications_enabled 0
  service_notifications_enabled 0
  host_notification_period 24x7
  service_notification_period 24x7
  host_notification_options n
  service_notification_options n
  host_notification_commands check_dummy
  service_notification_commands check_dummy
}
define host {
  host_name web01
  address 127.0.0.1
  max_check_attempts 1
  check_period 24x7
  contacts nobody
  notification_interval 0
  notification_period 24x7
  active_checks_enabled 0
}
define service {
  host_name web01
  service_description disk_root
  check_command check_dummy
  max_check_attempts 1
  check_interval 1
  retry_interval 1
  check_period 24x7
  contacts nobody
  notification_interval 0
  notification_period 24x7
  active_checks_enabled 0
}
`

// nagios is a real Nagios 4 core with its command FIFO in a temp dir.
type nagios struct {
	Dir, Bin, CommandFile, StatusFile, LogFile string
}

// Config is the nagios.cfg the test wrote.
func (n *nagios) Config() string { return filepath.Join(n.Dir, "nagios.cfg") }

// startNagios runs Debian's nagios4 in the foreground in its own process
// group, so that stopping it by pid also stops its worker processes.
func startNagios(tb testing.TB) *nagios {
	tb.Helper()
	return startNagiosWith(tb, nagiosObjects, "")
}

// startNagiosWith runs Nagios on the given objects, with more nagios.cfg
// lines (extra) after the test's own.
func startNagiosWith(tb testing.TB, objects, extra string) *nagios {
	tb.Helper()
	bin := peer(tb, "nagios4")
	peer(tb, "/usr/lib/nagios/plugins/check_dummy")
	dir := tb.TempDir()
	n := &nagios{Dir: dir, Bin: bin, CommandFile: filepath.Join(dir, "nagios.cmd"),
		StatusFile: filepath.Join(dir, "status.dat"), LogFile: filepath.Join(dir, "nagios.log")}
	userName, groupName := currentUser(tb)
	if err := os.Mkdir(filepath.Join(dir, "checkresults"), 0o700); err != nil {
		tb.Fatal(err)
	}
	writeFile(tb, filepath.Join(dir, "objects.cfg"), objects, 0o600)
	cfg := writeFile(tb, filepath.Join(dir, "nagios.cfg"), fmt.Sprintf(`log_file=%[1]s/nagios.log
cfg_file=%[1]s/objects.cfg
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
log_passive_checks=1
accept_passive_service_checks=1
accept_passive_host_checks=1
execute_service_checks=0
execute_host_checks=0
enable_notifications=0
use_syslog=0
illegal_macro_output_chars=~$&|'"<>
%[4]s`, dir, userName, groupName, extra), 0o600)
	if out, err := exec.Command(bin, "-v", cfg).CombinedOutput(); err != nil {
		tb.Fatalf("nagios4 -v: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	// Nagios makes its command FIFO once it is ready to read it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, err := os.Stat(n.CommandFile); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
			return n
		}
		select {
		case <-done:
			tb.Fatalf("nagios4 exited before making its command file:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("nagios4 made no command file in 20s:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status waits until Nagios' status.dat has a block of the given kind for
// the object whose fields match want, and returns the block.
func (n *nagios) status(tb testing.TB, kind, service string, want map[string]string) map[string]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	block := regexp.MustCompile(`(?s)` + kind + ` \{\n(.*?)\n\s*\}`)
	var last map[string]string
	for ctx.Err() == nil {
		data, _ := os.ReadFile(n.StatusFile)
		for _, m := range block.FindAllStringSubmatch(string(data), -1) {
			fields := map[string]string{}
			for _, l := range strings.Split(m[1], "\n") {
				k, v, _ := strings.Cut(strings.TrimSpace(l), "=")
				fields[k] = v
			}
			if fields["host_name"] != "web01" || fields["service_description"] != service {
				continue
			}
			last = fields
			ok := true
			for k, v := range want {
				ok = ok && fields[k] == v
			}
			if ok {
				return fields
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("status.dat: no %s for web01/%q with %v; last seen %v", kind, service, want, last)
	return nil
}

// TestNagiosAppliesResults: send_nsca into picket server into a real
// Nagios 4's command FIFO. Nagios must apply each result to its object:
// state, output, long output and perfdata, exactly as from the nsca daemon.
func TestNagiosAppliesResults(t *testing.T) {
	needE2E(t)
	ng := startNagios(t)
	s := startPicketServer(t, picketServerConfig{Encryption: "14", Password: password, CommandFile: ng.CommandFile})
	in := input(
		checkResult{Host: "web01", Service: "disk_root", RC: 1, Output: "DISK WARNING - 9% free\nsecond line \\ here | /=1MB;2;3"},
		checkResult{Host: "web01", RC: 0, Output: "host up"},
		checkResult{Host: "ghost", Service: "svc", RC: 2, Output: "nobody defined me"},
	)
	if r := runSendNSCA(t, s.Port, sendNSCAConfig(t, 14, password), in); r.Code != 0 {
		t.Fatalf("send_nsca: %v", r)
	}
	ng.status(t, "servicestatus", "disk_root", map[string]string{
		"current_state":      "1",
		"plugin_output":      "DISK WARNING - 9% free",
		"long_plugin_output": `second line \\ here`, // status.dat escapes the backslash
		"performance_data":   "/=1MB;2;3",
	})
	ng.status(t, "hoststatus", "", map[string]string{"current_state": "0", "plugin_output": "host up"})
	// A result for an undefined host is Nagios' to reject, with a warning.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(ng.LogFile)
		if strings.Contains(string(b), "on host 'ghost', but the host could not be found") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nagios.log has no warning for the undefined host:\n%s", b)
		}
	}
}
