package builtin

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"github.com/shirou/gopsutil/v4/mem"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

func (System) LoadAvg(context.Context) (LoadAvg, error) {
	return LoadAvg{}, fmt.Errorf("there is no load average on Windows (use cpu): %w", ErrUnsupported)
}

// Swap sums the page files, which is what swap is on Windows. (The commit
// limit that GlobalMemoryStatusEx calls "page file" includes RAM.)
func (System) Swap(ctx context.Context) (Swap, error) {
	devs, err := mem.SwapDevicesWithContext(ctx)
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
	s := &mgr.Service{Name: name, Handle: h}
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return ServiceStatus{}, fmt.Errorf("query service %s: %w", name, err)
	}
	out := ServiceStatus{Name: name}
	out.State, out.Detail = scmState(uint32(st.State))
	if cfg, err := s.Config(); err == nil {
		out.StartType = scmStartType(cfg.StartType, cfg.DelayedAutoStart)
	}
	return out, nil
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
