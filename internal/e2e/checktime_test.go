package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/spool"
)

// Nagios with honest times: an agent's backlog from a 10-minute outage,
// replayed through picket server into the real nagios4, is filed at the
// times the results were checked: every service's last_check is its
// result's check time, the state history in nagios.log follows the check
// times in order, and an older result never overwrites a newer one.
func TestNagiosFilesReplayAtCheckTimes(t *testing.T) {
	needE2E(t)
	services := []string{"s0", "s1", "s2", "s3", "s4", "flap"}
	ng := startNagiosWith(t, replayObjects("replay01", services...), "")
	server := startPicketServer(t, picketServerConfig{Encryption: "aes256", Password: password, CommandFile: ng.CommandFile})

	// The backlog, as an agent that could not reach the server for ten
	// minutes holds it. s4's last record is older than the one before it.
	now := time.Now().Truncate(time.Second)
	at := func(minutesAgo int) time.Time { return now.Add(-time.Duration(minutesAgo) * time.Minute) }
	type rec struct {
		svc   string
		state check.State
		ago   int
	}
	backlog := []rec{
		{"flap", check.Critical, 9}, {"s0", check.OK, 10}, {"s1", check.OK, 8}, {"flap", check.OK, 6},
		{"s2", check.Warning, 6}, {"s3", check.OK, 4}, {"flap", check.Critical, 3}, {"s4", check.OK, 2},
		{"s4", check.Critical, 9}, // older than the s4 just before: never sent
	}
	dir := t.TempDir()
	sp, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range backlog {
		res := check.Result{Host: "replay01", Service: r.svc, State: r.state, CheckTime: at(r.ago),
			Output: fmt.Sprintf("%s %s checked %dm ago", r.svc, r.state, r.ago)}
		b, _ := res.MarshalBinary()
		if _, err := sp.Append(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()
	pw := writeFile(t, filepath.Join(dir, "nsca.secret"), password+"\n", 0o600)
	cfg := writeFile(t, filepath.Join(dir, "picket.toml"), fmt.Sprintf(`hostname = "replay01"
spool_dir = %q
state_dir = %q
[health]
enabled = false
[[target]]
address = %q
encryption = "aes256"
password_file = %q
`, filepath.Join(dir, "spool"), filepath.Join(dir, "state"), server.Addr, pw), 0o600)
	agent := startProcess(t, "picket run", picketBin, "run", "--config", cfg, "--log-level", "debug")
	defer agent.Stop()

	st := &nagiosStatus{path: ng.StatusFile}
	want := map[string]rec{}
	for _, r := range backlog[:len(backlog)-1] {
		want[r.svc] = r // the last of each service, in spool order
	}
	for _, svc := range services {
		w := want[svc]
		f := st.wait(t, 30*time.Second, "replay01", svc, func(f map[string]string) bool {
			return f["last_check"] == strconv.FormatInt(at(w.ago).Unix(), 10)
		})
		if f["current_state"] != strconv.Itoa(int(w.state)) {
			t.Errorf("%s: state %s, want %d", svc, f["current_state"], w.state)
		}
		if svc == "flap" && f["last_state_change"] != strconv.FormatInt(at(3).Unix(), 10) {
			t.Errorf("flap: last_state_change %s, want the check time of its last change (%d)", f["last_state_change"], at(3).Unix())
		}
	}
	// The history follows the check times: CRITICAL, OK, CRITICAL.
	log := readString(t, ng.LogFile)
	var flaps []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "SERVICE ALERT: replay01;flap;") {
			flaps = append(flaps, strings.Split(l, ";")[2])
		}
	}
	if strings.Join(flaps, ",") != "CRITICAL,OK,CRITICAL" {
		t.Errorf("flap's alerts in nagios.log: %v, want CRITICAL, OK, CRITICAL\n%s", flaps, log)
	}
	if strings.Contains(log, "s4 CRITICAL checked 9m ago") || strings.Contains(readString(t, ng.StatusFile), "s4 CRITICAL") {
		t.Error("an older result of s4 overwrote the newer one")
	}
}

// replayObjects defines host and its passive services.
func replayObjects(host string, services ...string) string {
	var b strings.Builder
	b.WriteString(strings.Split(nagiosObjects, "define host {")[0])
	fmt.Fprintf(&b, "define host {\n  host_name %s\n  address 127.0.0.1\n  max_check_attempts 1\n  check_period 24x7\n  contacts nobody\n  notification_interval 0\n  notification_period 24x7\n  active_checks_enabled 0\n}\n", host)
	for _, s := range services {
		fmt.Fprintf(&b, "define service {\n  host_name %s\n  service_description %s\n  check_command check_dummy\n  max_check_attempts 1\n  check_interval 1\n  retry_interval 1\n  check_period 24x7\n  contacts nobody\n  notification_interval 0\n  notification_period 24x7\n  active_checks_enabled 0\n}\n", host, s)
	}
	return b.String()
}

// With nsca.cfg's check_result_path, picket server hands results to the
// real nagios4 as result files, as the nsca daemon does: Nagios reads them
// only once their .ok marker exists, and files each at its check time
// (start_time), although the file is written now (file_time, which Nagios
// compares with max_check_result_file_age).
func TestCheckResultPath(t *testing.T) {
	needE2E(t)
	ng := startNagiosWith(t, replayObjects("files01", "old", "multi"), "check_result_reaper_frequency=1\n")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "nsca.cfg")
	server := startDaemon(t, "picket server", picketBin, func(port int) []string {
		writeFile(t, cfg, nscaConfig(t, dir, port, 1, password)+"check_result_path="+filepath.Join(ng.Dir, "checkresults")+"\n", 0o600)
		return []string{"server", "--nsca-config", cfg, "--state-dir", filepath.Join(dir, "state")}
	})
	now := time.Now().Truncate(time.Second)
	old := now.Add(-2 * time.Hour) // older than max_check_result_file_age
	sp, err := spool.Open(filepath.Join(dir, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []check.Result{
		{Host: "files01", Service: "old", State: check.Warning, Output: "checked two hours ago", CheckTime: old},
		{Host: "files01", Service: "multi", State: check.Critical, Output: `first \ line`, LongOutput: "second line\nthird line", CheckTime: now},
	} {
		b, _ := r.MarshalBinary()
		if _, err := sp.Append(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()
	pw := writeFile(t, filepath.Join(dir, "nsca.secret"), password+"\n", 0o600)
	agentCfg := writeFile(t, filepath.Join(dir, "picket.toml"), fmt.Sprintf(`hostname = "files01"
spool_dir = %q
state_dir = %q
[spool]
replay_window = "3h"
[health]
enabled = false
[[target]]
address = %q
encryption = "xor"
password_file = %q
`, filepath.Join(dir, "spool"), filepath.Join(dir, "state"), server.Addr, pw), 0o600)
	agent := startProcess(t, "picket run", picketBin, "run", "--config", agentCfg)
	defer agent.Stop()

	st := &nagiosStatus{path: ng.StatusFile}
	f := st.wait(t, 30*time.Second, "files01", "old", func(f map[string]string) bool { return f["has_been_checked"] == "1" })
	if f["last_check"] != strconv.FormatInt(old.Unix(), 10) || f["current_state"] != "1" || f["plugin_output"] != "checked two hours ago" {
		t.Errorf("old: last_check %s state %s output %q; want %d, 1", f["last_check"], f["current_state"], f["plugin_output"], old.Unix())
	}
	f = st.wait(t, 30*time.Second, "files01", "multi", func(f map[string]string) bool { return f["has_been_checked"] == "1" })
	if f["plugin_output"] != `first \ line` || f["long_plugin_output"] != `second line\nthird line` {
		t.Errorf("multi: output %q long %q", f["plugin_output"], f["long_plugin_output"])
	}
	if left, _ := filepath.Glob(filepath.Join(ng.Dir, "checkresults", "c*")); len(left) != 0 {
		t.Errorf("Nagios left result files unread: %v", left)
	}
}
