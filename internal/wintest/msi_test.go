//go:build linux

package wintest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// buildMSI builds picket-<version>-x64.msi from exe with
// packaging/windows/build.sh, as `make package` does.
func buildMSI(t *testing.T, exe, version string) string {
	t.Helper()
	for _, tl := range [][2]string{{"wixl", "wixl"}, {"msibuild", "msitools"}, {"msiinfo", "msitools"}} {
		if _, err := exec.LookPath(tl[0]); err != nil {
			t.Fatalf("%s not found: install Debian's %s package (scripts/test-peers.sh installs it)", tl[0], tl[1])
		}
	}
	out := filepath.Join(lane.root, "msi", version)
	cmd := exec.Command(filepath.Join(lane.repo, "packaging", "windows", "build.sh"))
	cmd.Env = append(os.Environ(), "VERSION="+version, "BIN="+exe, "OUT="+out,
		"SIGN_CERT=", "SIGN_KEY=", "SIGN_PASS_FILE=", "SIGN_TIMESTAMP_URL=", "SOURCE_DATE_EPOCH=1700000000")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build.sh %s: %v\n%s", version, err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// msiLog reads an msiexec /l*v log, which Wine writes in UTF-16 or ANSI.
func msiLog(t *testing.T, path string) string {
	t.Helper()
	b, _ := os.ReadFile(path)
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE {
		u := make([]uint16, (len(b)-2)/2)
		for i := range u {
			u[i] = uint16(b[2+2*i]) | uint16(b[3+2*i])<<8
		}
		return string(utf16.Decode(u))
	}
	return string(b)
}

// The MSI under Wine's msiexec: an install with an NSCA password that Wine
// cannot protect rolls back whole; an install with a server installs,
// configures and starts the service and results reach nsca; an upgrade
// from the previous build keeps config and spool; msiexec /x removes it
// and keeps ProgramData.
func TestMSI(t *testing.T) {
	needLane(t)
	v2exe := filepath.Join(lane.root, "bin", "picket-1.0.1.exe")
	if err := goBuild(v2exe, "1.0.1", "./cmd/picket"); err != nil {
		t.Fatal(err)
	}
	msi1 := buildMSI(t, lane.picket, "1.0.0")
	msi2 := buildMSI(t, v2exe, "1.0.1")
	data := filepath.Join(lane.driveC, "ProgramData", "picket")
	installed := filepath.Join(lane.driveC, "Program Files", "picket", "picket.exe")
	status := func() result { return wine(t, nil, lane.picket, "service", "status", "--name", "picket") }
	// running waits for the service to report running: msiexec returns once
	// it has asked for the start.
	running := func(when string) {
		var st result
		waitFor(t, func() string { return "service " + when + ": " + st.String() + "\nprocesses: " + prefixProcesses() },
			func() bool { st = status(); return st.Code == 0 })
	}
	t.Cleanup(func() {
		if _, err := os.Stat(installed); err == nil {
			wine(t, nil, "msiexec", "/x", winPath(msi2), "/qn")
			wine(t, nil, "msiexec", "/x", winPath(msi1), "/qn")
			ensureApplicationLog(t)
		}
	})

	// 1. NSCA_PASSWORD: Wine cannot give the secret a DACL that keeps
	// others out, picket setup refuses it, and the install rolls back.
	const secret = "msi-secret-Zq7"
	logPath := filepath.Join(lane.root, "msi-password.log")
	r := wine(t, nil, "msiexec", "/i", winPath(msi1), "/qn", "/l*v", winPath(logPath),
		"SERVER=127.0.0.1:5667", "NSCA_PASSWORD="+secret)
	if r.Code == 0 {
		t.Fatalf("msiexec with NSCA_PASSWORD succeeded under Wine, whose files Everyone may read: %v", r)
	}
	t.Log("Wine lets Everyone read the secret picket setup writes; setup refuses it and the MSI rolls back")
	if _, err := os.Stat(installed); err == nil {
		t.Errorf("a rolled-back install left %s", installed)
	}
	if st := status(); !strings.Contains(st.Stdout, "not installed") {
		t.Errorf("a rolled-back install left the service: %v", st)
	}
	for _, f := range []string{"picket.toml", "nsca.secret"} {
		if _, err := os.Stat(filepath.Join(data, f)); err == nil {
			t.Errorf("a rolled-back install left %s", f)
		}
	}
	log := msiLog(t, logPath)
	if strings.Contains(log, secret) {
		t.Log("Wine's msiexec ignores MsiHiddenProperties: the password is in its verbose log; internal/packagetest proves the table rows that hide it on Windows")
	} else {
		t.Log("the password is not in Wine's msiexec log")
	}
	props, err := exec.Command("msiinfo", "export", msi1, "Property").Output()
	if err != nil || !bytes.Contains(props, []byte("MsiHiddenProperties\tNSCA_PASSWORD;REGISTRATION_TOKEN;PicketSetup")) {
		t.Errorf("the MSI's Property table does not hide the secrets: %v\n%s", err, props)
	}

	// 2. A server without a password: install, configure, start.
	nscaDir := t.TempDir()
	n := startNSCAMethod(t, nscaDir, 0, 0)
	r = wine(t, nil, "msiexec", "/i", winPath(msi1), "/qn", fmt.Sprintf("SERVER=127.0.0.1:%d", n.Port), "HOSTNAME=winmsi")
	if r.Code != 0 {
		t.Fatalf("msiexec /i: %v", r)
	}
	cfg := filepath.Join(data, "picket.toml")
	body, err := os.ReadFile(cfg)
	if err != nil || !strings.Contains(string(body), fmt.Sprintf(`address = "127.0.0.1:%d"`, n.Port)) || !strings.Contains(string(body), `hostname = "winmsi"`) {
		t.Fatalf("the MSI's picket.toml: %v\n%s", err, body)
	}
	q := wine(t, nil, "reg", "query", `HKLM\System\CurrentControlSet\Services\picket`, "/v", "ImagePath")
	if !strings.Contains(q.Stdout, `picket.exe" run --service --config`) && !strings.Contains(q.Stdout, `picket.exe run --service --config`) {
		t.Errorf("the MSI's service command line: %v", q)
	}
	running("after msiexec /i")

	// An administrator drops a plugin in and adds a check.
	if err := copyFile(lane.wtool, filepath.Join(data, "plugins", "check_x.exe")); err != nil {
		t.Fatal(err)
	}
	counter := filepath.Join(data, "count.txt")
	body = append(body, fmt.Sprintf("\n[[check]]\nservice = \"msi_counter\"\ncommand = 'check_x plugin -count \"%s\" \"OK - run {n}\"'\ninterval = \"1s\"\n", winPath(counter))...)
	writeFile(t, cfg, string(body), 0o644)
	if r := wine(t, nil, installed, "service", "restart"); r.Code != 0 {
		t.Fatalf("service restart: %v", r)
	}
	n.WaitResults(t, "winmsi", "msi_counter", 2)

	// 3. Upgrade while nsca is down: results wait in the spool.
	n.Stop()
	runs := func() int {
		b, _ := os.ReadFile(counter)
		v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return v
	}
	before := runs()
	waitFor(t, func() string { return "no runs while nsca was down" }, func() bool { return runs() >= before+3 })
	r = wine(t, nil, "msiexec", "/i", winPath(msi2), "/qn")
	if r.Code != 0 {
		t.Fatalf("msiexec /i (upgrade): %v", r)
	}
	spooledBy := runs()
	if now, _ := os.ReadFile(cfg); !bytes.Equal(now, body) {
		t.Errorf("the upgrade changed picket.toml:\n%s", now)
	}
	if v := wine(t, nil, installed, "version"); !strings.Contains(v.Stdout, "picket 1.0.1 ") {
		t.Errorf("after the upgrade the installed picket.exe says %v", v)
	}
	running("after the upgrade")
	n = startNSCAMethod(t, nscaDir, n.Port, 0)
	var got []int
	waitFor(t, func() string {
		return fmt.Sprintf("runs 1..%d, spooled before the upgrade, did not all reach nsca: %v", spooledBy, got)
	}, func() bool {
		got = runNumbers(t, n.Results(t, "winmsi", "msi_counter"))
		missing := 0
		for i := 1; i <= spooledBy; i++ {
			if !slices.Contains(got, i) {
				missing++
			}
		}
		// A run in flight when the upgrade stopped the service reports
		// "interrupted", without its number.
		return missing <= 1
	})

	// 4. Uninstall: the MSI's own files go, ProgramData stays. Wine's
	// msiexec does not always wait for the service to stop before it
	// removes files (Windows honours the ServiceControl's Wait="yes"), and
	// a running picket.exe cannot be deleted; so the service is stopped
	// first. The upgrade above proved msiexec's own stop and replace.
	if r := wine(t, nil, installed, "service", "stop"); r.Code != 0 {
		t.Fatalf("service stop before msiexec /x: %v", r)
	}
	waitFor(t, func() string { return "picket.exe still runs after the service stopped: " + prefixProcesses() },
		func() bool {
			return !strings.Contains(strings.ToLower(prefixProcesses()), `program files\picket\picket.exe`)
		})
	if r := wine(t, nil, "msiexec", "/x", winPath(msi2), "/qn"); r.Code != 0 {
		t.Fatalf("msiexec /x: %v", r)
	}
	if st := status(); !strings.Contains(st.Stdout, "not installed") {
		t.Errorf("service after msiexec /x: %v", st)
	}
	if _, err := os.Stat(installed); err == nil {
		t.Errorf("msiexec /x left %s; processes: %s", installed, prefixProcesses())
	}
	ensureApplicationLog(t)
	for _, keep := range []string{"picket.toml", "spool", filepath.Join("plugins", "check_x.exe")} {
		if _, err := os.Stat(filepath.Join(data, keep)); err != nil {
			t.Errorf("msiexec /x removed ProgramData's %s: %v", keep, err)
		}
	}
}

// prefixProcesses lists the Linux processes running a program of the
// lane's prefix, for failure messages.
func prefixProcesses() string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte("WINEPREFIX="+lane.prefix+"\x00")) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, e.Name()+" "+string(bytes.ReplaceAll(cmd, []byte{0}, []byte(" "))))
	}
	return strings.Join(out, "; ")
}

// ensureApplicationLog puts back EventLog\Application: Wine's msiexec /x
// deletes the registry keys a removal left empty, up to that one, which
// Windows always has and without which no Event Log source can be
// registered.
func ensureApplicationLog(t *testing.T) {
	t.Helper()
	const appLog = `HKLM\System\CurrentControlSet\Services\EventLog\Application`
	if q := wine(t, nil, "reg", "query", appLog); q.Code == 0 {
		return
	}
	t.Logf("Wine's msiexec /x removed %s, which Windows keeps; the test restores it", appLog)
	if r := wine(t, nil, "reg", "add", appLog, "/f"); r.Code != 0 {
		t.Fatalf("reg add %s: %v", appLog, r)
	}
}
