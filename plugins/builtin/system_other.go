//go:build !linux && !windows

package builtin

import (
	"context"
	"fmt"
	"runtime"

	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

func (System) CPUTimes(ctx context.Context) ([]CPUTimes, error) { return gopsutilCPUTimes(ctx) }

func (System) LoadAvg(ctx context.Context) (LoadAvg, error) {
	l, err := load.AvgWithContext(ctx)
	if err != nil {
		return LoadAvg{}, fmt.Errorf("read load average: %w", err)
	}
	return LoadAvg{Load1: l.Load1, Load5: l.Load5, Load15: l.Load15, CPUs: runtime.NumCPU()}, nil
}

func (System) Swap(ctx context.Context) (Swap, error) {
	s, err := mem.SwapMemoryWithContext(ctx)
	if err != nil {
		return Swap{}, fmt.Errorf("read swap: %w", err)
	}
	return Swap{Total: s.Total, Free: s.Free}, nil
}

// Service: picket knows no service manager here (launchd on macOS is not
// asked).
func (System) Service(context.Context, string) (ServiceStatus, error) {
	return ServiceStatus{}, fmt.Errorf("%w: picket asks systemd on Linux and the SCM on Windows, not the service manager of %s", ErrNoServiceManager, runtime.GOOS)
}
