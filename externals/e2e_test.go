package externals

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestHandlerToPuller runs both halves as picket server and the agent
// do: the handler mounted under /externals/ behind TLS, signing, and the
// puller verifying.
func TestHandlerToPuller(t *testing.T) {
	serverDir := t.TempDir()
	pub, key := newKey(t)
	var log servedLog
	// The handler is swapped when the server's key changes.
	var current atomic.Pointer[Handler]
	current.Store(&Handler{Dir: serverDir, Keys: &Keys{Current: key}, Served: log.served})
	mux := http.NewServeMux()
	mux.Handle("/externals/", http.StripPrefix("/externals/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		current.Load().ServeHTTP(w, r)
	})))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	p, err := NewPuller(Options{
		URL:          srv.URL + "/externals/",
		TLS:          &tls.Config{RootCAs: pool},
		PublicKeys:   trust(pub),
		CacheDir:     t.TempDir(),
		RetryWaitMax: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if o := p.Fetch(ctx, "web01"); o.Status != NotFound {
		t.Fatalf("before the file exists: %v %v", o.Status, o.Err)
	}

	if err := WriteFile(serverDir, "web01", []byte(goodTOML), &Keys{Current: key}); err != nil {
		t.Fatal(err)
	}
	o := p.Fetch(ctx, "web01")
	if o.Status != Updated || !o.Snapshot.Meta.Signed || o.Snapshot.File.Checks[0].Service != "disk_root" {
		t.Fatalf("first: %v %v", o.Status, o.Err)
	}
	first := o.Snapshot

	o = p.Fetch(ctx, "web01")
	if o.Status != Unchanged || o.Snapshot.Version() != first.Version() {
		t.Fatalf("second: %v %v", o.Status, o.Err)
	}

	// The admin edits the file in place, without re-signing: the
	// handler signs what it serves.
	edited := goodTOML + "\n[[check]]\nservice = \"load\"\ncommand = \"check_load -w 5 -c 10\"\n"
	path := filepath.Join(serverDir, "web01.toml")
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	// Within the second of the first write, only the ETag tells them
	// apart; a later mtime makes the date say so too.
	later := time.Now().Add(time.Hour)
	os.Chtimes(path, later, later)
	o = p.Fetch(ctx, "web01")
	if o.Status != Updated || len(o.Snapshot.File.Checks) != 2 || o.Snapshot.Version() == first.Version() {
		t.Fatalf("after edit: %v %v", o.Status, o.Err)
	}
	if o = p.Fetch(ctx, "web01"); o.Status != Unchanged {
		t.Fatalf("after edit, again: %v %v", o.Status, o.Err)
	}
	lkg, err := p.LastKnownGood("web01")
	if err != nil || string(lkg.Data) != edited {
		t.Fatalf("last known good: %v", err)
	}
	if log.count() != 4 {
		t.Errorf("Served called %d times: %v", log.count(), log.hosts)
	}

	// The server's key changes and the agents are not told: they refuse
	// the files and keep what they have.
	_, newKey := newKey(t)
	current.Store(&Handler{Dir: serverDir, Keys: &Keys{Current: newKey}})
	os.WriteFile(path, []byte(goodTOML), 0o644)
	if o = p.Fetch(ctx, "web01"); o.Status != Rejected {
		t.Fatalf("foreign key: %v %v", o.Status, o.Err)
	}
	if lkg, err := p.LastKnownGood("web01"); err != nil || string(lkg.Data) != edited {
		t.Fatalf("last known good after a foreign key: %v", err)
	}
}
