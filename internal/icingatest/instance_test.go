//go:build unix

package icingatest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func needIcinga(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Debian's icinga2; not run with -short")
	}
}

// post sends a raw process-check-result as the password user, the way an
// administrator would with curl, so the harness is tested without the
// library it exists to test.
func post(t *testing.T, in *Instance, body string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.URL+"/v1/actions/process-check-result", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(in.User, in.Password)
	req.Header.Set("Accept", "application/json")
	resp, err := in.queryCli.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", body, resp.StatusCode, b)
	}
	return string(b)
}

func alive(pid int) bool {
	// A zombie still answers signal 0; /proc says whether it is one.
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !bytes.Contains(b, []byte(") Z "))
}

func TestStartQueryStopRestart(t *testing.T) {
	needIcinga(t)
	ctx := context.Background()
	in := Must(t, Options{Objects: `
object Host "web01" { import "` + HostTemplate + `" }
object Service "disk" { import "` + ServiceTemplate + `"; host_name = "web01" }`})

	pid := in.Pid()
	if got, err := readPid(in.pidFile()); err != nil || got != pid {
		t.Fatalf("pid file holds %d (%v), started %d", got, err, pid)
	}
	if fi, err := os.Stat(in.confFile()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config with the password must be 0600: %v %v", fi.Mode(), err)
	}
	o, err := in.Service(ctx, "web01", "disk")
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "web01!disk" || o.Result != nil {
		t.Fatalf("new service: %+v", o)
	}
	if _, err := in.Service(ctx, "web01", "nope"); !errors.Is(err, ErrNoObject) {
		t.Fatalf("unknown service: %v, want ErrNoObject", err)
	}

	start := time.Unix(time.Now().Unix()-30, 250000000)
	post(t, in, fmt.Sprintf(`{"type":"Service","service":"web01!disk","exit_status":2,"plugin_output":"DISK CRITICAL","performance_data":["/=90%%;80;90"],"execution_start":%d.25,"execution_end":%d.5}`,
		start.Unix(), start.Unix()))
	check := func(when string) {
		t.Helper()
		o, err := in.Service(ctx, "web01", "disk")
		if err != nil {
			t.Fatal(err)
		}
		r := o.Result
		if r == nil || r.State != 2 || r.Output != "DISK CRITICAL" || !r.ExecutionStart.Equal(start) ||
			len(r.PerfData) != 1 || r.PerfData[0] != "/=90%;80;90" {
			t.Fatalf("%s: stored %+v, want state 2 at %v", when, r, start)
		}
	}
	check("after the result")
	post(t, in, `{"type":"Service","service":"web01!disk","exit_status":0,"plugin_output":"older","execution_start":1000}`)
	check("after an older result")
	if skipped, err := in.Skipped(ctx); err != nil || skipped["web01!disk"] != 1 || len(skipped) != 1 {
		t.Fatalf("Skipped: %v %v, want web01!disk once", skipped, err)
	}

	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("icinga2 pid %d still running after Stop", pid)
	}
	if err := in.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if in.Pid() == pid || in.Pid() == 0 {
		t.Fatalf("restart: pid %d", in.Pid())
	}
	check("after a restart")
}

func TestClientCertificateUser(t *testing.T) {
	needIcinga(t)
	in := Must(t, Options{Objects: `object Host "h" { import "` + HostTemplate + `" }`})
	cert, err := tls.LoadX509KeyPair(in.ClientCert, in.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(in.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, ServerName: in.ServerName, Certificates: []tls.Certificate{cert}}}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, in.URL+"/v1/objects/hosts/h", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET as %s by certificate: %d", CertUser, resp.StatusCode)
	}
}

func TestMissingBinaryNamesThePackage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	_, err := findBinary(dir + "/icinga2")
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install --no-install-recommends icinga2") {
		t.Fatalf("got %v", err)
	}
}
