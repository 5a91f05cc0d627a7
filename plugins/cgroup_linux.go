//go:build linux

package plugins

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ownCgroupDir returns the directory of the agent's own cgroup in the
// cgroup v2 hierarchy: on a unified system under /sys/fs/cgroup, on a
// hybrid one (v1 controllers, v2 for process tracking) under
// /sys/fs/cgroup/unified.
func ownCgroupDir() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("find own cgroup: %w", err)
	}
	path, ok := unifiedCgroup(b)
	if !ok {
		return "", errors.New("the agent is in no cgroup v2 hierarchy")
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("find cgroup v2 mount: %w", err)
	}
	return cgroupDir(path, cgroup2Mounts(mi))
}

// cgroupDir finds where cgroup path is in the file system: in the mount
// at the usual places first, since a container may show others.
func cgroupDir(path string, ms []mount) (string, error) {
	rank := func(m mount) int {
		switch m.point {
		case "/sys/fs/cgroup":
			return 0
		case "/sys/fs/cgroup/unified":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(ms, func(a, b mount) int { return rank(a) - rank(b) })
	for _, m := range ms {
		// A mount shows the hierarchy from its root down; path must be
		// at or below it.
		rel, ok := strings.CutPrefix(path, m.root)
		if !ok || (m.root != "/" && rel != "" && !strings.HasPrefix(rel, "/")) {
			continue
		}
		return filepath.Join(m.point, rel), nil
	}
	if len(ms) == 0 {
		return "", errors.New("no cgroup v2 file system is mounted")
	}
	return "", fmt.Errorf("cgroup %s is not visible under %s", path, ms[0].point)
}

// runCgroup is the cgroup of one run, a child of the agent's own. The
// plugin is cloned straight into it (clone3 with CLONE_INTO_CGROUP), so
// there is no moment in which it, or anything it starts, is outside.
type runCgroup struct {
	dir string
	// fd is the directory open for clone3, until the plugin started.
	fd      *os.File
	removed bool
}

func newRunCgroup(parent string) (*runCgroup, error) {
	dir := filepath.Join(parent, "picket-run-"+newID())
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make cgroup: %w", err)
	}
	fd, err := os.Open(dir)
	if err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("open cgroup: %w", err)
	}
	return &runCgroup{dir: dir, fd: fd}, nil
}

// newID returns a random name for one run, unique across agents sharing
// a cgroup (tests do) and across restarts.
func newID() string {
	return rand.Text()
}

// started closes the directory: the plugin is in the cgroup now, or not
// at all.
func (c *runCgroup) started() {
	if c.fd != nil {
		c.fd.Close()
		c.fd = nil
	}
}

// kill ends every process of the cgroup, those of cgroups below it
// included (a plugin running as root may make some), and waits until the
// kernel says none is left, or until deadline: a process in
// uninterruptible sleep dies only when it wakes.
//
// cgroup.kill (Linux 5.14) kills the whole subtree at once, forks racing
// with it included. Before it, every listed process is sent SIGKILL, again
// and again until the listing stays empty.
func (c *runCgroup) kill(deadline time.Time) {
	if c.removed {
		return
	}
	killCgroup(c.dir, deadline, true)
}

// killCgroup kills what is in the cgroup at dir, through cgroup.kill if
// useFile is set and the kernel has it.
func killCgroup(dir string, deadline time.Time, useFile bool) {
	// A plugin that exited left nothing behind, most of the time: then
	// there is nothing to kill.
	if b, err := os.ReadFile(filepath.Join(dir, "cgroup.events")); err != nil {
		return
	} else if full, err := populated(b); err == nil && !full {
		return
	}
	viaFile := useFile && os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0) == nil
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		if !viaFile {
			for _, pid := range cgroupPids(dir) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
		if err != nil {
			return
		}
		if full, err := populated(b); err != nil || !full || time.Now().After(deadline) {
			return
		}
		time.Sleep(delay)
	}
}

// cgroupPids lists the processes of the cgroup at dir and of those below
// it. Zombies are not listed: they have left their cgroup.
func cgroupPids(dir string) []int {
	var pids []int
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// remove deletes the cgroup, the deepest first. It fails while a process
// is left in it.
func (c *runCgroup) remove() error {
	c.started()
	if c.removed {
		return nil
	}
	// Almost always the run made no cgroup of its own: one rmdir, without
	// reading the directory of the cgroup's interface files.
	if err := os.Remove(c.dir); err == nil || errors.Is(err, fs.ErrNotExist) {
		c.removed = true
		return nil
	}
	var dirs []string
	_ = filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for _, d := range slices.Backward(dirs) {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove cgroup: %w", err)
		}
	}
	c.removed = true
	return nil
}
