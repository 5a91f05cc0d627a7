package autoreg

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestRegistryPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.json")
	r, err := OpenRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.List()) != 0 {
		t.Fatal("a missing file is not an empty registry")
	}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	entries := []Entry{
		{Host: "web02", Profile: "web", FirstSeen: t0, LastSeen: t0, Registered: t0, Remote: "10.0.0.2",
			Facts:          Request{Hostname: "web02", OS: "linux", Metadata: []string{"web"}, Plugins: []Plugin{{"check_http", "ab"}}},
			RenderedSHA256: "cafe"},
		{Host: "db01", Profile: "base", FirstSeen: t0, LastError: "template failed"},
	}
	for _, e := range entries {
		if err := r.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	// Put wrote the file: a second server process reads the same.
	r2, err := OpenRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{entries[1], entries[0]} // sorted by host
	if got := r2.List(); !reflect.DeepEqual(got, want) {
		t.Fatalf("reopened:\n got %+v\nwant %+v", got, want)
	}
	if e, ok := r2.Get("web02"); !ok || !reflect.DeepEqual(e, entries[0]) {
		t.Errorf("Get(web02) = %+v, %v", e, ok)
	}
	if _, ok := r2.Get("nosuch"); ok {
		t.Error("Get of an unknown host succeeded")
	}

	// What Get returns is a copy.
	e, _ := r2.Get("web02")
	e.Facts.Metadata[0] = "changed"
	if e2, _ := r2.Get("web02"); e2.Facts.Metadata[0] != "web" {
		t.Error("changing a returned entry changed the registry")
	}

	if err := r.Put(Entry{Host: "../x"}); err == nil {
		t.Error("an entry with an unsafe host name was stored")
	}
}

func TestRegistrySeenAndFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.json")
	r, err := OpenRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Flush with nothing to write created the file: %v", err)
	}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := r.Put(Entry{Host: "web01", FirstSeen: t0, LastSeen: t0, Remote: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Hour)
	r.Seen("web01", "10.0.0.9", t1)
	r.Seen("web01", "", t0) // an older contact arriving late moves nothing back
	r.Seen("stranger", "10.0.0.7", t1)

	if e, _ := r.Get("web01"); !e.LastSeen.Equal(t1) || e.Remote != "10.0.0.9" {
		t.Errorf("in memory after Seen: %+v", e)
	}
	if e, _ := mustOpen(t, path).Get("web01"); !e.LastSeen.Equal(t0) {
		t.Errorf("Seen wrote the file at once (last seen %v): it should wait for Flush", e.LastSeen)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	r2 := mustOpen(t, path)
	if e, _ := r2.Get("web01"); !e.LastSeen.Equal(t1) || e.Remote != "10.0.0.9" {
		t.Errorf("after Flush: %+v", e)
	}
	if _, ok := r2.Get("stranger"); ok {
		t.Error("Seen of an unregistered host created an entry")
	}

	if err := r.SetError("web01", "render failed"); err != nil {
		t.Fatal(err)
	}
	if e, _ := mustOpen(t, path).Get("web01"); e.LastError != "render failed" {
		t.Errorf("SetError not persisted: %+v", e)
	}
	if err := r.SetError("stranger", "x"); !errors.Is(err, ErrUnknownHost) {
		t.Errorf("SetError of an unknown host: err = %v", err)
	}
}

func TestRegistryOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"corrupt":     `{"version":1,"hosts":[`,
		"newer":       `{"version":99,"hosts":[]}`,
		"unsafe host": `{"version":1,"hosts":[{"host":"../../etc"}]}`,
	} {
		path := writeFile(t, filepath.Join(dir, name+".json"), data, 0o644)
		if _, err := OpenRegistry(path); err == nil {
			t.Errorf("%s registry opened", name)
		}
	}
}

func TestRegistryConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.json")
	r := mustOpen(t, path)
	var wg sync.WaitGroup
	hosts := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, h := range hosts {
		wg.Go(func() {
			for i := range 20 {
				if err := r.Put(Entry{Host: h, Profile: "p"}); err != nil {
					t.Error(err)
				}
				r.Seen(h, "10.0.0.1", time.Unix(int64(i), 0))
				r.List()
				if i%5 == 0 {
					if err := r.Flush(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := len(mustOpen(t, path).List()); got != len(hosts) {
		t.Errorf("%d hosts on disk, want %d", got, len(hosts))
	}
}

func mustOpen(t *testing.T, path string) *Registry {
	t.Helper()
	r, err := OpenRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
