package autoreg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

func TestFactsOnThisMachine(t *testing.T) {
	dir1, dir2 := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir1, "check_a"), "#!/bin/sh\necho A\n", 0o755)
	writeFile(t, filepath.Join(dir1, "check_b"), "#!/bin/sh\necho B\n", 0o755)
	if err := os.Mkdir(filepath.Join(dir1, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir1, "subdir", "check_deep"), "x", 0o755)
	if runtime.GOOS != "windows" {
		if err := os.Symlink("check_a", filepath.Join(dir1, "check_link")); err != nil {
			t.Fatal(err)
		}
	}
	// Over 64 MiB: sparse, so the test costs no disk.
	big, err := os.Create(filepath.Join(dir1, "check_huge"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(maxPluginSize + 1); err != nil {
		t.Fatal(err)
	}
	big.Close()
	// A later folder's plugin of the same name is hidden, as at lookup.
	writeFile(t, filepath.Join(dir2, "check_a"), "shadowed", 0o755)
	writeFile(t, filepath.Join(dir2, "check_c"), "C", 0o755)

	services := []Service{{Service: "picket_poller", IntervalSeconds: 300}}
	req := Facts(context.Background(), FactOptions{
		Hostname:     "web01.example.com",
		Metadata:     []string{"web"},
		PluginDirs:   []string{dir1, filepath.Join(dir1, "missing"), dir2},
		AgentVersion: "1.2.3",
		Services:     services,
	})

	if req.OS != runtime.GOOS || req.Arch != runtime.GOARCH {
		t.Errorf("os/arch = %s/%s, want %s/%s", req.OS, req.Arch, runtime.GOOS, runtime.GOARCH)
	}
	if runtime.GOOS == "linux" && req.OSVersion == "" {
		t.Error("no OS version on Linux (/etc/os-release)")
	}
	if req.Hostname != "web01.example.com" || req.FQDN != "web01.example.com" {
		t.Errorf("hostname %q fqdn %q", req.Hostname, req.FQDN)
	}
	if req.AgentVersion != "1.2.3" || !slices.Equal(req.Metadata, []string{"web"}) || !slices.Equal(req.Services, services) {
		t.Errorf("options not carried over: %+v", req)
	}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	want := []Plugin{
		{"check_a", sum("#!/bin/sh\necho A\n")},
		{"check_b", sum("#!/bin/sh\necho B\n")},
	}
	if runtime.GOOS != "windows" {
		want = append(want, Plugin{"check_link", sum("#!/bin/sh\necho A\n")})
	}
	want = append(want, Plugin{"check_c", sum("C")})
	if !slices.Equal(req.Plugins, want) {
		t.Errorf("plugins:\n got %v\nwant %v", req.Plugins, want)
	}
	for _, a := range req.Addresses {
		if a == "127.0.0.1" || a == "::1" {
			t.Errorf("loopback address %s listed", a)
		}
	}
}

func TestFactsPluginLimit(t *testing.T) {
	dir := t.TempDir()
	for i := range maxPlugins + 5 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("check_%04d", i)), "", 0o644)
	}
	if got := len(pluginInventory(context.Background(), []string{dir})); got != maxPlugins {
		t.Errorf("%d plugins listed, want the cap %d", got, maxPlugins)
	}
}

func TestFactsCancelled(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "check_a"), "A", 0o755)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := Facts(ctx, FactOptions{Hostname: "nohost", PluginDirs: []string{dir}})
	if len(req.Plugins) != 0 || req.FQDN != "" {
		t.Errorf("a cancelled context still hashed %v and resolved %q", req.Plugins, req.FQDN)
	}
	if req.Hostname != "nohost" || req.OS == "" {
		t.Errorf("the facts that need no waiting are missing: %+v", req)
	}
}
