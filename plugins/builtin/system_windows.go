package builtin

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/shirou/gopsutil/v4/mem"
	"golang.org/x/sys/windows"
)

// CPUTimes asks gopsutil, which reads every processor group, and falls
// back to SystemProcessorPerformanceInformation (the caller's group, up to
// 64 cores) where NtQuerySystemInformationEx is missing, as under Wine.
func (System) CPUTimes(ctx context.Context) ([]CPUTimes, error) {
	ts, err := gopsutilCPUTimes(ctx)
	if err == nil {
		return ts, nil
	}
	if ts, ferr := processorTimes(); ferr == nil {
		return ts, nil
	}
	return nil, err
}

// processorPerformance is SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION; times
// in 100 ns units, kernel time including idle time.
type processorPerformance struct {
	Idle, Kernel, User, DPC, Interrupt int64
	InterruptCount                     uint32
	_                                  uint32
}

func processorTimes() ([]CPUTimes, error) {
	buf := make([]processorPerformance, 256)
	var n uint32
	size := uint32(len(buf)) * uint32(unsafe.Sizeof(buf[0]))
	if err := windows.NtQuerySystemInformation(windows.SystemProcessorPerformanceInformation, unsafe.Pointer(&buf[0]), size, &n); err != nil {
		return nil, fmt.Errorf("read CPU times: %w", err)
	}
	count := int(n / uint32(unsafe.Sizeof(buf[0])))
	out := make([]CPUTimes, 0, count)
	const tick = 1e-7
	for _, p := range buf[:count] {
		out = append(out, CPUTimes{
			User: float64(p.User) * tick, System: float64(p.Kernel-p.Idle) * tick,
			Idle: float64(p.Idle) * tick,
		})
	}
	return out, nil
}

func (System) LoadAvg(context.Context) (LoadAvg, error) {
	return LoadAvg{}, fmt.Errorf("there is no load average on Windows (use cpu): %w", ErrUnsupported)
}

// Swap sums the page files, which is what swap is on Windows. (The commit
// limit that GlobalMemoryStatusEx calls "page file" includes RAM.)
func (System) Swap(ctx context.Context) (Swap, error) {
	devs, err := mem.SwapDevicesWithContext(ctx)
	if errors.Is(err, windows.Errno(0)) {
		// EnumPageFilesW failed without saying why (Wine does).
		return Swap{}, errors.New("list page files: EnumPageFilesW failed without an error code")
	}
	if err != nil {
		return Swap{}, fmt.Errorf("list page files: %w", err)
	}
	var s Swap
	for _, d := range devs {
		s.Total += d.UsedBytes + d.FreeBytes
		s.Free += d.FreeBytes
	}
	return s, nil
}

// Service asks the Service Control Manager with query rights only, so the
// check works for an account that may not control services.
func (System) Service(_ context.Context, name string) (ServiceStatus, error) {
	scm, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return ServiceStatus{}, fmt.Errorf("%w: open the service control manager: %w", ErrNoServiceManager, err)
	}
	defer windows.CloseServiceHandle(scm)
	namep, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return ServiceStatus{}, fmt.Errorf("service name %q: %w", name, err)
	}
	h, err := windows.OpenService(scm, namep, windows.SERVICE_QUERY_STATUS|windows.SERVICE_QUERY_CONFIG)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return ServiceStatus{}, fmt.Errorf("service %s: %w", name, ErrNoService)
	}
	if err != nil {
		return ServiceStatus{}, fmt.Errorf("open service %s: %w", name, err)
	}
	defer windows.CloseServiceHandle(h)
	var st windows.SERVICE_STATUS
	if err := windows.QueryServiceStatus(h, &st); err != nil {
		return ServiceStatus{}, fmt.Errorf("query service %s: %w", name, err)
	}
	out := ServiceStatus{Name: name, StartType: startType(h)}
	out.State, out.Detail = scmState(st.CurrentState)
	return out, nil
}

// startType reads the service's start type, "" when the SCM will not say.
// The delayed flag is asked separately and only for auto services, since
// older systems and Wine do not all answer it.
func startType(h windows.Handle) string {
	var needed uint32
	if err := windows.QueryServiceConfig(h, nil, 0, &needed); !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
		return ""
	}
	buf := make([]uint64, (needed+7)/8) // 8-aligned for the struct
	cfg := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(h, cfg, uint32(len(buf)*8), &needed); err != nil {
		return ""
	}
	delayed := false
	if cfg.StartType == windows.SERVICE_AUTO_START {
		var info windows.SERVICE_DELAYED_AUTO_START_INFO
		var n uint32
		if windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
			(*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), &n) == nil {
			delayed = info.IsDelayedAutoStartUp != 0
		}
	}
	return scmStartType(cfg.StartType, delayed)
}

var (
	advapi32                   = windows.NewLazySystemDLL("advapi32.dll")
	procOpenEventLogW          = advapi32.NewProc("OpenEventLogW")
	procCloseEventLog          = advapi32.NewProc("CloseEventLog")
	procReadEventLogW          = advapi32.NewProc("ReadEventLogW")
	procGetNumberOfEventLogRec = advapi32.NewProc("GetNumberOfEventLogRecords")
	procGetOldestEventLogRec   = advapi32.NewProc("GetOldestEventLogRecord")
)

const (
	eventlogSequentialRead = 0x1
	eventlogSeekRead       = 0x2
	eventlogForwardsRead   = 0x4
)

// eventLogSpan opens log and says which records it holds.
func eventLogSpan(log string) (h uintptr, oldest, count uint32, err error) {
	logp, err := windows.UTF16PtrFromString(log)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("log name %q: %w", log, err)
	}
	h, _, err = procOpenEventLogW.Call(0, uintptr(unsafe.Pointer(logp)))
	if h == 0 {
		return 0, 0, 0, fmt.Errorf("open event log %s: %w", log, err)
	}
	if r, _, err := procGetNumberOfEventLogRec.Call(h, uintptr(unsafe.Pointer(&count))); r == 0 {
		procCloseEventLog.Call(h)
		return 0, 0, 0, fmt.Errorf("count events of %s: %w", log, err)
	}
	if r, _, err := procGetOldestEventLogRec.Call(h, uintptr(unsafe.Pointer(&oldest))); r == 0 {
		procCloseEventLog.Call(h)
		return 0, 0, 0, fmt.Errorf("oldest event of %s: %w", log, err)
	}
	return h, oldest, count, nil
}

func (System) LastRecord(_ context.Context, log string) (uint64, error) {
	h, oldest, count, err := eventLogSpan(log)
	if err != nil {
		return 0, err
	}
	defer procCloseEventLog.Call(h)
	if count == 0 {
		return 0, nil
	}
	return uint64(oldest) + uint64(count) - 1, nil
}

// Events reads the classic event log API (ReadEventLogW), which every
// Windows since NT has and which reads the classic logs (Application,
// System, Security and those of installed programs).
func (System) Events(ctx context.Context, log string, after uint64, max int) ([]Event, error) {
	h, oldest, count, err := eventLogSpan(log)
	if err != nil {
		return nil, err
	}
	defer procCloseEventLog.Call(h)
	if count == 0 {
		return nil, nil
	}
	start, ok := readStart(after, uint64(oldest), uint64(oldest)+uint64(count)-1)
	if !ok {
		return nil, nil
	}
	events, err := readEvents(ctx, h, uint32(start), max)
	if err != nil {
		return nil, fmt.Errorf("read event log %s: %w", log, err)
	}
	return events, nil
}

// readEvents reads forward from record start until the end of the log or
// max events.
func readEvents(ctx context.Context, h uintptr, start uint32, max int) ([]Event, error) {
	buf := make([]byte, 64<<10)
	flags := uintptr(eventlogSeekRead | eventlogForwardsRead)
	var out []Event
	for len(out) < max {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var read, needed uint32
		r, _, err := procReadEventLogW.Call(h, flags, uintptr(start), uintptr(unsafe.Pointer(&buf[0])),
			uintptr(len(buf)), uintptr(unsafe.Pointer(&read)), uintptr(unsafe.Pointer(&needed)))
		if r == 0 {
			switch {
			case errors.Is(err, windows.ERROR_HANDLE_EOF):
				return out, nil
			case errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) && int(needed) > len(buf):
				buf = make([]byte, needed)
				continue
			}
			return nil, err
		}
		evs, err := parseEventRecords(buf[:read])
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
		flags = eventlogSequentialRead | eventlogForwardsRead
	}
	return out[:max], nil
}
