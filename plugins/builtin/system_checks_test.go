package builtin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
)

func TestLoad(t *testing.T) {
	sys := &fakeOS{load: LoadAvg{Load1: 3.5, Load5: 2.25, Load15: 1, CPUs: 2}}
	tests := []struct {
		args []string
		want want
	}{
		{nil, want{check.OK, "LOAD OK - load average: 3.50, 2.25, 1.00", "load1=3.5;;;0 load5=2.25;;;0 load15=1;;;0"}},
		{[]string{"-w", "5,4,3", "-c", "10,8,6"}, want{check.OK, "~load average: 3.50", "load1=3.5;5;10;0 load5=2.25;4;8;0 load15=1;3;6;0"}},
		{[]string{"-w", "3,4,5", "-c", "10,8,6"}, want{check.Warning, "LOAD WARNING - load average: 3.50, 2.25, 1.00", ""}},
		{[]string{"-w", "1", "-c", "2,3,3"}, want{check.Critical, "~LOAD CRITICAL", "load1=3.5;1;2;0 load5=2.25;1;3;0 load15=1;1;3;0"}},
		{[]string{"-r", "-w", "1.5,1,1", "-c", "2"}, want{check.Warning, "LOAD WARNING - load average per CPU (2 CPUs): 1.75, 1.12, 0.50", ""}},
		{[]string{"-w5,4,3", "-c10,8,6"}, want{check.OK, "~LOAD OK", "load1=3.5;5;10;0 load5=2.25;4;8;0 load15=1;3;6;0"}},
	}
	for _, tt := range tests {
		tt.want.check(t, fmt.Sprint(tt.args), runCheck(t, sys, "load", tt.args...))
	}
	unsupported := &fakeOS{err: fmt.Errorf("there is no load average on Windows (use cpu): %w", ErrUnsupported)}
	want{check.Unknown, "LOAD UNKNOWN - there is no load average on Windows (use cpu)", ""}.check(t, "windows", runCheck(t, unsupported, "load"))
}

func TestCPU(t *testing.T) {
	// Two cores, 100 ticks each between the samples: core 0 is 90% busy
	// (80 user, 10 system, 5 iowait that is not busy), core 1 10%.
	s1 := []CPUTimes{{User: 100, System: 10, Idle: 1000}, {User: 50, System: 5, Idle: 2000}}
	s2 := []CPUTimes{{User: 180, System: 20, Idle: 1005, IOWait: 5}, {User: 55, System: 10, Idle: 2090}}
	newSys := func() *fakeOS { return &fakeOS{now: time.Unix(1e9, 0), cpu: [][]CPUTimes{s1, s2}} }
	tests := []struct {
		args []string
		want want
	}{
		{nil, want{check.OK, "CPU OK - 50% busy over 1s (2 cores, busiest core 0 at 90%)",
			"cpu=50%;;;0;100 cpu_user=42.5%;;;0;100 cpu_system=7.5%;;;0;100 cpu_iowait=2.5%;;;0;100 cpu0=90%;;;0;100 cpu1=10%;;;0;100"}},
		{[]string{"-w", "40", "-c", "60", "-t", "5s"}, want{check.Warning, "CPU WARNING - 50% busy over 5s (2 cores, busiest core 0 at 90%)", ""}},
		{[]string{"-w", "60", "-c", "80", "-p"}, want{check.Critical, "~CPU CRITICAL - 50% busy", "cpu=50%;60;80;0;100 cpu_user=42.5%;;;0;100 cpu_system=7.5%;;;0;100 cpu_iowait=2.5%;;;0;100 cpu0=90%;60;80;0;100 cpu1=10%;60;80;0;100"}},
		{[]string{"-w", "60", "-c", "80"}, want{check.OK, "~CPU OK", ""}},
	}
	for _, tt := range tests {
		sys := newSys()
		r := runCheck(t, sys, "cpu", tt.args...)
		tt.want.check(t, fmt.Sprint(tt.args), r)
		if sys.cpuCalls != 2 {
			t.Errorf("%v: %d samples, want 2", tt.args, sys.cpuCalls)
		}
	}
	r := runCheck(t, newSys(), "cpu", "-p", "-c", "80")
	if r.LongOutput != "core 0: 90% busy (CRITICAL)" {
		t.Errorf("per-core long output %q", r.LongOutput)
	}

	changed := &fakeOS{cpu: [][]CPUTimes{s1, s1[:1]}}
	want{check.Unknown, "~number of CPUs changed", ""}.check(t, "hotplug", runCheck(t, changed, "cpu"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b, _ := Lookup("cpu")
	c, _ := b.New(nil)
	want{check.Unknown, "~interrupted while sampling", ""}.check(t, "cancelled", c.Run(ctx, newSys()))
}

func TestMemoryAndSwap(t *testing.T) {
	const gib = 1 << 30
	sys := &fakeOS{mem: Memory{Total: 16 * gib, Available: 4 * gib}, swap: Swap{Total: 2 * gib, Free: gib / 2}}
	tests := []struct {
		name string
		args []string
		want want
	}{
		{"memory", nil, want{check.OK, "MEMORY OK - 75% used (12.0 of 16.0 GiB)",
			"memory=12884901888B;;;0;17179869184 memory_pct=75%;;;0;100"}},
		{"memory", []string{"-w", "70%", "-c", "90%"}, want{check.Warning, "MEMORY WARNING - 75% used (12.0 of 16.0 GiB)",
			"memory=12884901888B;12025908429;15461882266;0;17179869184 memory_pct=75%;70;90;0;100"}},
		{"memory", []string{"-w", "8GB", "-c", "11GB"}, want{check.Critical, "~MEMORY CRITICAL", "memory=12884901888B;8589934592;11811160064;0;17179869184 memory_pct=75%;50;68.75;0;100"}},
		{"memory", []string{"-c", "12GB"}, want{check.OK, "~MEMORY OK", ""}},
		{"swap", nil, want{check.OK, "SWAP OK - 25% free (0.5 of 2.0 GiB)", "swap=536870912B;;;0;2147483648 swap_pct=25%;;;0;100"}},
		{"swap", []string{"-w", "50%", "-c", "20%"}, want{check.Warning, "SWAP WARNING - 25% free (0.5 of 2.0 GiB)",
			"swap=536870912B;1073741824:;429496730:;0;2147483648 swap_pct=25%;50:;20:;0;100"}},
		{"swap", []string{"-w", "1GB", "-c", "600MB"}, want{check.Critical, "~SWAP CRITICAL", ""}},
		{"swap", []string{"-w", "100000000"}, want{check.OK, "~SWAP OK", ""}},
		{"swap", []string{"-c", "@0:30%"}, want{check.Critical, "~SWAP CRITICAL", ""}},
	}
	for _, tt := range tests {
		tt.want.check(t, fmt.Sprint(tt.name, tt.args), runCheck(t, sys, tt.name, tt.args...))
	}
	none := &fakeOS{}
	want{check.Critical, "SWAP CRITICAL - no swap space configured", "swap=0B;;;0;0"}.check(t, "no swap", runCheck(t, none, "swap"))
	want{check.OK, "SWAP OK - no swap space configured", ""}.check(t, "no swap -n ok", runCheck(t, none, "swap", "-n", "ok"))
	want{check.Unknown, "MEMORY UNKNOWN - broken", ""}.check(t, "error", runCheck(t, &fakeOS{err: errBroken}, "memory"))
}

func TestUptime(t *testing.T) {
	sys := &fakeOS{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), uptime: 3*24*time.Hour + 4*time.Hour + 5*time.Minute}
	tests := []struct {
		args []string
		want want
	}{
		{nil, want{check.OK, "~UPTIME OK - up 3d 4h 5m (booted 2026-04-28", "uptime=273900s;;;0"}},
		{[]string{"-w", "2d"}, want{check.Warning, "~UPTIME WARNING - up 3d 4h 5m", "uptime=273900s;172800;;0"}},
		{[]string{"-c", "10m:", "-w", "4d:"}, want{check.Warning, "~UPTIME WARNING", "uptime=273900s;345600:;600:;0"}},
		{[]string{"-c", "1w"}, want{check.OK, "~UPTIME OK", ""}},
	}
	for _, tt := range tests {
		tt.want.check(t, fmt.Sprint(tt.args), runCheck(t, sys, "uptime", tt.args...))
	}
	recent := &fakeOS{uptime: 4*time.Minute + 10*time.Second}
	want{check.Critical, "~up 4m 10s", ""}.check(t, "recent boot", runCheck(t, recent, "uptime", "-c", "10m:"))
}

func TestDisk(t *testing.T) {
	const gib = 1 << 30
	sys := &fakeOS{
		fss: []Filesystem{
			{Mount: "/", Type: "ext4"}, {Mount: "/proc", Type: "proc"}, {Mount: "/run", Type: "tmpfs"},
			{Mount: "/var", Type: "xfs"}, {Mount: "/snap/core/1", Type: "squashfs"}, {Mount: "/mnt/nfs", Type: "nfs4"},
			{Mount: "/srv/a", Type: "ext4"}, {Mount: "/srv/b", Type: "ext4"}, {Mount: "/empty", Type: "ext4"},
		},
		usage: map[string]DiskUsage{
			"/":            {Size: 200 * gib, Used: 82 * gib, Avail: 118 * gib, Inodes: 1000, InodesUsed: 970},
			"/var":         {Size: 100 * gib, Used: 92 * gib, Avail: 8 * gib, Inodes: 1000, InodesUsed: 100},
			"/mnt/nfs":     {Size: 10 * gib, Used: 1 * gib, Avail: 9 * gib},
			"/srv/a":       {Size: 10 * gib, Used: 1 * gib, Avail: 9 * gib},
			"/srv/b":       {Size: 10 * gib, Used: 2 * gib, Avail: 8 * gib},
			"/empty":       {},
			"C:":           {Size: 200 * gib, Used: 821 * gib / 10, Avail: 1179 * gib / 10},
			"/var/log/app": {Size: 100 * gib, Used: 92 * gib, Avail: 8 * gib},
		},
	}
	tests := []struct {
		args []string
		want want
	}{
		{[]string{"-p", "C:"}, want{check.OK, "DISK OK - C: 41% used (82.1 of 200.0 GiB)", "C:=88154203750B;;;0;214748364800"}},
		{[]string{"-w", "10%", "-c", "5%", "-p", "/"}, want{check.OK, "DISK OK - / 41% used (82.0 of 200.0 GiB)",
			"/=88046829568B;193273528320;204010946560;0;214748364800 '/ inodes'=970;;;0;1000"}},
		{[]string{"-w", "10%", "-c", "5%", "-p", "/var"}, want{check.Warning, "DISK WARNING - /var 92% used (92.0 of 100.0 GiB) WARNING", ""}},
		{[]string{"-w", "10000", "-c", "9000", "-p", "/var"}, want{check.Critical, "~/var 92% used (92.0 of 100.0 GiB) CRITICAL",
			"/var=98784247808B;96888422400;97936998400;0;107374182400 '/var inodes'=100;;;0;1000"}},
		{[]string{"-w", "10GB", "-p", "/var/log/app"}, want{check.Warning, "DISK WARNING - /var/log/app 92% used (92.0 of 100.0 GiB) WARNING", ""}},
		{[]string{"-W", "5%", "-K", "2%", "-p", "/"}, want{check.Warning, "DISK WARNING - / 41% used (82.0 of 200.0 GiB), inodes 97% used WARNING",
			"/=88046829568B;;;0;214748364800 '/ inodes'=970;950;980;0;1000"}},
		{[]string{"-w", "10%"}, want{check.Warning, "DISK WARNING - /var 92% used (92.0 of 100.0 GiB) WARNING, 4 of 5 file systems OK", ""}},
		{[]string{"-w", "10%", "-l", "-x", "/srv/*"}, want{check.Warning, "DISK WARNING - / 41% used (82.0 of 200.0 GiB), /var 92% used (92.0 of 100.0 GiB) WARNING", ""}},
		{[]string{"-w", "5%", "-X", "xfs"}, want{check.OK, "DISK OK - all 4 file systems OK", ""}},
		{[]string{"-p", "/srv/*"}, want{check.OK, "DISK OK - /srv/a 10% used (1.0 of 10.0 GiB), /srv/b 20% used (2.0 of 10.0 GiB)", ""}},
		{[]string{"-e", "-p", "/srv/*", "-c", "85%"}, want{check.Critical, "DISK CRITICAL - /srv/b 20% used (2.0 of 10.0 GiB) CRITICAL, 1 of 2 file systems OK", ""}},
		{[]string{"-p", "/nowhere"}, want{check.Unknown, "~/nowhere: statfs /nowhere: file does not exist", ""}},
		{[]string{"-p", "/x*"}, want{check.Unknown, "DISK UNKNOWN - no file system matches /x*", ""}},
		{[]string{"-w", "@0:60%", "-p", "/"}, want{check.Warning, "~DISK WARNING", "/=88046829568B;@85899345920:214748364800;;0;214748364800 '/ inodes'=970;;;0;1000"}},
	}
	for _, tt := range tests {
		tt.want.check(t, fmt.Sprint(tt.args), runCheck(t, sys, "disk", tt.args...))
	}
	r := runCheck(t, sys, "disk")
	if r.LongOutput == "" || r.Output != "DISK OK - all 5 file systems OK" {
		t.Errorf("all: output %q, long %q", r.Output, r.LongOutput)
	}
}

func TestDiskArgumentErrors(t *testing.T) {
	b, _ := Lookup("disk")
	for _, args := range [][]string{{"-w", "10%:5MB"}, {"-W", "100"}, {"-p", "["}, {"-c", "ten"}, {"--bogus"}} {
		if _, err := b.New(args); err == nil {
			t.Errorf("disk %v: no error", args)
		}
	}
}
