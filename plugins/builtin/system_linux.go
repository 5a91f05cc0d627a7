package builtin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"

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

// Processes reads /proc directly: two small reads per process (status and
// cmdline), where gopsutil's per-field methods read status again for each
// field and look each owner up in the user database anew.
func (System) Processes(ctx context.Context) ([]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	users := map[int]string{}
	out := make([]Process, 0, len(entries))
	buf := make([]byte, 0, 4096)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, ok := readProc(pid, buf)
		if !ok {
			continue // gone since the listing
		}
		p.User = userName(users, p.UID)
		out = append(out, p)
	}
	return out, nil
}

func readProc(pid int, buf []byte) (Process, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	status, err := readInto(dir+"/status", buf)
	if err != nil {
		return Process{}, false
	}
	p, ok := parseStatus(status)
	if !ok {
		return Process{}, false
	}
	p.PID = pid
	cmdline, err := readInto(dir+"/cmdline", buf)
	if err != nil {
		return Process{}, false
	}
	p.Args = strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " ")
	p.Kernel = len(cmdline) == 0 && (p.PPID == 2 || pid == 2)
	return p, true
}

// readInto reads a small /proc file into buf's storage.
func readInto(name string, buf []byte) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf = buf[:0]
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil || n == 0 {
			break
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
	return buf, nil
}

// parseStatus reads name, state, parent and effective uid (the one ps
// shows) from /proc/PID/status.
func parseStatus(b []byte) (Process, bool) {
	p := Process{UID: -1, PPID: -1}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		val = bytes.TrimSpace(val)
		switch string(key) {
		case "Name":
			p.Name = unescapeComm(string(val))
		case "State":
			if len(val) > 0 {
				p.State = string(val[:1])
			}
		case "PPid":
			p.PPID, _ = strconv.Atoi(string(val))
		case "Uid":
			if f := bytes.Fields(val); len(f) >= 2 {
				p.UID, _ = strconv.Atoi(string(f[1]))
			}
			return p, p.Name != "" && p.State != ""
		}
	}
	return p, false
}

// unescapeComm undoes the kernel's escaping of "\n" and "\\" in names.
func unescapeComm(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\n`, "\n", `\\`, `\`).Replace(s)
}

func userName(cache map[int]string, uid int) string {
	if n, ok := cache[uid]; ok {
		return n
	}
	n := strconv.Itoa(uid)
	if u, err := user.LookupId(n); err == nil {
		n = u.Username
	}
	cache[uid] = n
	return n
}

// Service asks systemd through systemctl, when systemd is the running
// init (sd_booted: /run/systemd/system exists).
func (System) Service(ctx context.Context, name string) (ServiceStatus, error) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return ServiceStatus{}, fmt.Errorf("%w: systemd is not running on this host (no /run/systemd/system), so there are no units to ask about", ErrNoServiceManager)
	}
	cmd := exec.CommandContext(ctx, "systemctl", "show", "--no-pager",
		"--property=LoadState,ActiveState,SubState,UnitFileState", "--", name)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ServiceStatus{}, fmt.Errorf("systemctl show %s: %w: %s", name, err, strings.TrimSpace(string(ee.Stderr)))
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
			return ServiceStatus{}, fmt.Errorf("%w: systemctl not found", ErrNoServiceManager)
		}
		return ServiceStatus{}, fmt.Errorf("systemctl show %s: %w", name, err)
	}
	return parseSystemctlShow(name, string(out))
}
