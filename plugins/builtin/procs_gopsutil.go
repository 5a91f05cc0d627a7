//go:build !linux

package builtin

import (
	"context"
	"fmt"
	"strings"

	"github.com/shirou/gopsutil/v4/process"
)

// Processes lists processes through gopsutil. A field the OS refuses for
// one process (another user's command line on Windows) is left empty rather
// than costing the process.
func (System) Processes(ctx context.Context) ([]Process, error) {
	ps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	out := make([]Process, 0, len(ps))
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name, err := p.NameWithContext(ctx)
		if err != nil {
			continue // gone since the listing
		}
		q := Process{PID: int(p.Pid), PPID: -1, UID: -1, Name: name}
		if ppid, err := p.PpidWithContext(ctx); err == nil {
			q.PPID = int(ppid)
		}
		q.Args, _ = p.CmdlineWithContext(ctx)
		q.User, _ = p.UsernameWithContext(ctx)
		if uids, err := p.UidsWithContext(ctx); err == nil && len(uids) > 1 {
			q.UID = int(uids[1])
		}
		if st, err := p.StatusWithContext(ctx); err == nil && len(st) > 0 {
			q.State = stateLetter(st[0])
		}
		out = append(out, q)
	}
	return out, nil
}

// stateLetter turns gopsutil's state words back into ps letters.
func stateLetter(s string) string {
	switch strings.ToLower(s) {
	case process.Running:
		return "R"
	case process.Sleep:
		return "S"
	case process.Stop:
		return "T"
	case process.Idle:
		return "I"
	case process.Zombie:
		return "Z"
	case process.Wait, process.Blocked:
		return "D"
	case process.Lock:
		return "L"
	}
	return ""
}
