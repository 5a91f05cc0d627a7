package builtin

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
)

// System is the real OS: gopsutil where it has what a check needs, the
// standard library and golang.org/x/sys for the rest (per-OS files).
type System struct {
	// StateDir is where StateStore keeps its files; empty means none, and
	// saving state fails with ErrNoStateDir.
	StateDir string
}

var _ OS = System{}

// StateDirEnv names the environment variable that gives `picket plugin`
// its state folder; the agent sets it for the built-ins it runs.
const StateDirEnv = "PICKET_STATE_DIR"

func (System) Now() time.Time { return time.Now() }

func (System) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (System) SelfPID() int { return os.Getpid() }

// gopsutilCPUTimes reads per-core CPU times through gopsutil.
func gopsutilCPUTimes(ctx context.Context) ([]CPUTimes, error) {
	ts, err := cpu.TimesWithContext(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("read CPU times: %w", err)
	}
	out := make([]CPUTimes, len(ts))
	for i, t := range ts {
		// Guest time is already part of user time on Linux, so it is not
		// added again.
		out[i] = CPUTimes{
			User: t.User + t.Nice, System: t.System + t.Irq + t.Softirq,
			Idle: t.Idle, IOWait: t.Iowait, Steal: t.Steal,
		}
	}
	return out, nil
}

func (System) Memory(ctx context.Context) (Memory, error) {
	m, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return Memory{}, fmt.Errorf("read memory: %w", err)
	}
	return Memory{Total: m.Total, Available: m.Available}, nil
}

func (System) Uptime(ctx context.Context) (time.Duration, error) {
	s, err := host.UptimeWithContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("read uptime: %w", err)
	}
	return time.Duration(s) * time.Second, nil
}

func (System) Filesystems(ctx context.Context) ([]Filesystem, error) {
	ps, err := disk.PartitionsWithContext(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("list file systems: %w", err)
	}
	out := make([]Filesystem, 0, len(ps))
	for _, p := range ps {
		out = append(out, Filesystem{Mount: p.Mountpoint, Device: p.Device, Type: p.Fstype})
	}
	return out, nil
}

func (System) DiskUsage(ctx context.Context, path string) (DiskUsage, error) {
	u, err := disk.UsageWithContext(ctx, path)
	if err != nil {
		return DiskUsage{}, err
	}
	return DiskUsage{
		Size: u.Used + u.Free, Used: u.Used, Avail: u.Free,
		Inodes: u.InodesTotal, InodesUsed: u.InodesUsed,
	}, nil
}

func (System) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

func (System) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// LoadState reads a state file of the state folder.
func (s System) LoadState(name string) ([]byte, error) {
	if s.StateDir == "" {
		return nil, ErrNoStateDir
	}
	return os.ReadFile(filepath.Join(s.StateDir, name+".json"))
}

// SaveState replaces a state file in one step (a temporary file renamed
// over it), so a run killed halfway leaves the old position, never half a
// file. The folder is made on first use, readable by its owner only.
func (s System) SaveState(name string, data []byte) error {
	if s.StateDir == "" {
		return ErrNoStateDir
	}
	if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
		return fmt.Errorf("make state folder: %w", err)
	}
	f, err := os.CreateTemp(s.StateDir, name+".*.tmp")
	if err != nil {
		return fmt.Errorf("save state %s: %w", name, err)
	}
	_, werr := f.Write(data)
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(f.Name(), filepath.Join(s.StateDir, name+".json"))
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("save state %s: %w", name, werr)
	}
	return nil
}
