package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/internal/signing"
)

// holdIdle opens n connections to addr from the source address src, as a
// client that never sends a packet, and returns those the server kept
// (it sent them the init packet) and a function closing all of them.
func holdIdle(t *testing.T, src, addr string, n int) (kept int, release func()) {
	t.Helper()
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return
			}
			// A connection the server refuses is closed before any init
			// packet; a kept one gets its 132 bytes.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, make([]byte, 132)); err != nil {
				c.Close()
				return
			}
			c.SetReadDeadline(time.Time{})
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return len(conns), func() {
		for _, c := range conns {
			c.Close()
		}
	}
}

// One client holding 512 idle connections (from 127.0.0.2) no longer
// locks every agent out of picket server's receiver: the per-source cap
// keeps it to its share, and agents from 127.0.0.1 keep delivering. With
// the cap raised to the global limit, the same client locks them out, as
// it did before the cap existed.
func TestNSCAOneSourceCannotLockOthersOut(t *testing.T) {
	needE2E(t)
	cfg := sendNSCAConfig(t, 14, "source-pw")
	for _, tt := range []struct {
		name   string
		extra  string
		kept   int
		locked bool
	}{
		{"with the default per-source cap", "", 64, false},
		{"with the cap at max_connections", "max_connections_per_source = 512\n", 512, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startPicketServer(t, picketServerConfig{Encryption: "aes256", Password: "source-pw",
				Extra: "read_timeout = \"2m\"\n" + tt.extra})
			defer srv.Stop()
			kept, release := holdIdle(t, "127.0.0.2", srv.Addr, 512)
			defer release()
			if kept != tt.kept {
				t.Fatalf("the server kept %d of 512 idle connections from 127.0.0.2, want %d", kept, tt.kept)
			}
			var worst time.Duration
			delivered := 0
			for i := range 5 {
				start := time.Now()
				r := runSendNSCA(t, srv.Port, cfg, []byte(fmt.Sprintf("agent%d\tdisk\t0\tOK %d\n", i, i)), "-to", "10")
				worst = max(worst, time.Since(start))
				if r.Code == 0 && strings.Contains(r.Stdout, sentOK(1)) {
					delivered++
				}
			}
			if tt.locked {
				if delivered != 0 {
					t.Errorf("%d of 5 sends got through with the cap at max_connections: the attack did not happen", delivered)
				}
				return
			}
			if delivered != 5 {
				t.Fatalf("%d of 5 sends from 127.0.0.1 delivered while 127.0.0.2 held %d connections\nserver log:\n%s", delivered, kept, srv.Log)
			}
			lines := waitLines(t, srv.CommandFile, 5)
			if len(lines) != 5 || !strings.Contains(lines[4], "PROCESS_SERVICE_CHECK_RESULT;agent4;disk;0;OK 4") {
				t.Errorf("command file: %q", lines)
			}
			// send_nsca's whole session is bounded by -to 10; these took
			// a fraction of it.
			if worst > 10*time.Second {
				t.Errorf("a send took %v", worst)
			}
			if !strings.Contains(srv.Log.String(), "too many connections from this address") {
				t.Errorf("the refusals are not logged:\n%s", srv.Log)
			}
			t.Logf("127.0.0.2 holds %d idle connections (448 more refused); 5 sends from 127.0.0.1 delivered, the slowest in %v", kept, worst.Round(time.Millisecond))
		})
	}
}

// attackRegistration is, against the real picket server (state_dir dir) of
// TestRegisterIntoNagios, what issue 16 found a second client with the
// shared token could do: take over the registered host (another address,
// other facts) and define services for another host and for a made-up
// one. Both are refused, and Nagios' objects and the host's identity and
// facts stay as they were.
func attackRegistration(t *testing.T, dir string, port int, caFile, objects string) {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	post := func(req autoreg.Request) (int, string) {
		pub, key, err := signing.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		req.PublicKey = signing.FormatPublicKey(pub)
		body, _ := json.Marshal(req)
		r, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("https://127.0.0.1:%d/v1/register", port), bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer fleet-token-1")
		signing.NewSigner(req.Hostname, key).Sign(r, body)
		resp, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	state := func() (objs map[string]string, identities string, facts autoreg.Request) {
		objs = map[string]string{}
		ents, _ := os.ReadDir(objects)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(objects, e.Name()))
			objs[e.Name()] = string(b)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "identities.json"))
		var reg struct{ Hosts []autoreg.Entry }
		rb, _ := os.ReadFile(filepath.Join(dir, "registry.json"))
		json.Unmarshal(rb, &reg)
		for _, e := range reg.Hosts {
			if e.Host == "e2e-agent" {
				facts = e.Facts
			}
		}
		return objs, string(b), facts
	}
	objsBefore, idsBefore, factsBefore := state()

	takeover := autoreg.Request{Hostname: "e2e-agent", OS: "linux", Addresses: []string{"6.6.6.6"}, Metadata: []string{"e2e", "pwned"}}
	if code, body := post(takeover); code != http.StatusForbidden || !strings.Contains(body, "is bound to the key") {
		t.Errorf("a second client taking over e2e-agent: %d %s", code, body)
	}
	multi := autoreg.Request{Hostname: "web07", OS: "linux", Addresses: []string{"192.0.2.7"}, Metadata: []string{"e2e"},
		Services: []autoreg.Service{{Host: "e2e-agent", Service: "evil", IntervalSeconds: 60}, {Host: "ghosthost", Service: "evil", IntervalSeconds: 60}}}
	if code, body := post(multi); code != http.StatusForbidden || !strings.Contains(body, "e2e-agent") {
		t.Errorf("web07 declaring services for e2e-agent and ghosthost: %d %s", code, body)
	}
	cron := autoreg.Request{Hostname: "web08", OS: "linux", Metadata: []string{"e2e"}, Services: []autoreg.Service{{Service: "backup", Cron: "0 25 * * *"}}}
	if code, body := post(cron); code != http.StatusBadRequest || !strings.Contains(body, "services[0].cron") {
		t.Errorf("an invalid cron: %d %s", code, body)
	}

	objsAfter, idsAfter, factsAfter := state()
	if !reflect.DeepEqual(objsBefore, objsAfter) {
		t.Errorf("Nagios' objects changed:\nbefore %q\nafter  %q", objsBefore, objsAfter)
	}
	if _, ok := objsAfter["ghosthost.cfg"]; ok {
		t.Error("ghosthost is in Nagios")
	}
	if idsBefore != idsAfter || idsBefore == "" {
		t.Errorf("identities.json changed:\n%s\n%s", idsBefore, idsAfter)
	}
	if !reflect.DeepEqual(factsBefore, factsAfter) || len(factsAfter.Addresses) == 0 || factsAfter.Addresses[0] == "6.6.6.6" {
		t.Errorf("e2e-agent's facts changed: %+v", factsAfter)
	}
}
