package spool

import (
	"os"
	"path/filepath"
	"testing"
)

// Holder sees the writer's lock and its pid, creates nothing where no
// spool is, and leaves the lock free for the next writer.
func TestHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	if pid, held, err := Holder(dir); err != nil || held || pid != 0 {
		t.Fatalf("no spool: %d, %v, %v", pid, held, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Holder created something: %v", err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid, held, err := Holder(dir)
	if err != nil || !held || pid != os.Getpid() {
		t.Errorf("open spool: %d, %v, %v; want pid %d", pid, held, err, os.Getpid())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if pid, held, err := Holder(dir); err != nil || held {
		t.Errorf("closed spool: %d, %v, %v", pid, held, err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("a writer after Holder: %v", err)
	}
	s.Close()
}
