//go:build linux

package plugins

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"
)

// containment is how a Runner holds each run beyond its process group, so
// that a process that leaves the group (setsid, as a daemon does) is still
// found and killed: a cgroup v2 per run where the agent may make one,
// otherwise the subreaper and /proc sweeps of sweep_linux.go. It is chosen
// at the first run.
type containment struct {
	noCgroup bool
	once     sync.Once
	// parent is the cgroup runs get their own cgroup under; "" in the
	// fallback.
	parent string
	// why says why the fallback is in use.
	why string
}

func newContainment(cfg Config) *containment { return &containment{noCgroup: cfg.NoCgroup} }

// cgroupSupport is whether this process can contain runs in cgroups, and
// under which one: a fact about the process and the host, probed once.
var cgroupSupport = sync.OnceValues(probeCgroup)

func (c *containment) choose() {
	c.once.Do(func() {
		if c.noCgroup {
			c.why = "cgroups turned off by Config.NoCgroup"
		} else if parent, err := cgroupSupport(); err == nil {
			c.parent = parent
			return
		} else {
			c.why = "no cgroup: " + err.Error()
		}
		if err := enableSubreaper(); err != nil {
			c.why += "; no subreaper: " + err.Error()
		}
	})
}

func (c *containment) describe() string {
	c.choose()
	switch {
	case c.parent != "":
		return "cgroup v2 " + c.parent
	case subreaper.on.Load():
		return "subreaper (" + c.why + ")"
	}
	return "process group (" + c.why + ")"
}

// box holds one run: its cgroup, or its marker for the sweeps.
type box struct {
	run *runRecord
	cg  *runCgroup
}

// newBox prepares cmd to start inside its run's containment.
func (c *containment) newBox(cmd *exec.Cmd) (*box, error) {
	c.choose()
	b := &box{run: &runRecord{}}
	if c.parent != "" {
		cg, err := newRunCgroup(c.parent)
		if err != nil {
			return nil, err
		}
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(cg.fd.Fd())
		b.cg = cg
		return b, nil
	}
	b.run.marker = newID()
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(slices.Clip(env), markerVar+"="+b.run.marker)
	return b, nil
}

// start starts cmd and registers it, so that no sweep takes it for an
// orphan.
func (b *box) start(cmd *exec.Cmd) error {
	reg.starting.RLock()
	defer reg.starting.RUnlock()
	err := cmd.Start()
	if b.cg != nil {
		b.cg.started()
	}
	if err == nil {
		registered(b.run, cmd.Process.Pid)
	}
	return err
}

func (b *box) wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	waited(cmd.Process.Pid)
	return err
}

// kill ends everything of the run and waits until it is gone, or until
// deadline. With the subreaper on, a sweep follows even a cgroup's kill:
// it reaps the orphans the kill turned into zombies, and ends orphans of
// other runs that have nobody left to end them.
func (b *box) kill(deadline time.Time) {
	if b.cg != nil {
		b.cg.kill(deadline)
		_ = b.cg.remove()
	}
	if subreaper.on.Load() {
		sweepUntilGone(b.run, deadline)
	}
	over(b.run)
}

// release undoes what a run that never started left: its cgroup. One
// whose kill gave up (a process stuck in the kernel) stays.
func (b *box) release() {
	if b.cg != nil {
		_ = b.cg.remove()
	}
	over(b.run)
}

// probeCgroup finds the agent's cgroup and proves that a run can be
// contained under it, by doing it once: make a cgroup, start a shell
// straight into it (clone3 may be refused: before Linux 5.7, by a seccomp
// filter, for a cgroup whose type forbids processes, or for lack of
// permission), see it listed there, kill it through the cgroup, remove
// the cgroup.
func probeCgroup() (string, error) {
	parent, err := ownCgroupDir()
	if err != nil {
		return "", err
	}
	cg, err := newRunCgroup(parent)
	if err != nil {
		return "", fmt.Errorf("%s: %w", parent, err)
	}
	defer cg.remove()
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	defer w.Close()
	cmd := exec.Command("/bin/sh", "-c", "read -r line")
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.fd.Fd())}
	b := &box{run: &runRecord{}, cg: cg}
	if err := b.start(cmd); err != nil {
		return "", fmt.Errorf("start a process in cgroup %s: %w", cg.dir, err)
	}
	listed := slices.Contains(cgroupPids(cg.dir), cmd.Process.Pid)
	b.kill(time.Now().Add(killWait))
	_ = b.wait(cmd)
	if !listed {
		return "", fmt.Errorf("process %d started in cgroup %s is not listed there", cmd.Process.Pid, cg.dir)
	}
	if err := cg.remove(); err != nil {
		return "", fmt.Errorf("%s after its process was killed: %w", cg.dir, err)
	}
	return parent, nil
}
