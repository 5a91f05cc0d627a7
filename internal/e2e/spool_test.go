package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The spool and the spooler with real nsca daemons that go down and come
// back: nothing that reached the spool is lost, repeated or reordered.

// counterPlugin numbers its runs in the file named by its first argument
// and prints "RUN n", padded with long output of the size its second
// argument asks for, so a test can tell a lost, repeated or reordered
// result and can fill a spool quickly.
const counterPlugin = `#!/bin/sh
n=$(( $(cat "$1" 2>/dev/null || echo 0) + 1 ))
echo $n > "$1"
echo "RUN $n"
if [ -n "$2" ]; then head -c "$2" /dev/zero | tr '\0' x; echo; fi
`

// counterChecks writes the counter plugin and n checks c0..c(n-1) that run
// it every second with pad bytes of long output.
func (e *agentEnv) counterChecks(tb testing.TB, n, pad int) string {
	tb.Helper()
	writeFile(tb, filepath.Join(e.DropIns, "check_counter"), counterPlugin, 0o755)
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[[check]]\nservice = \"c%d\"\ncommand = \"check_counter %s %d\"\n\n",
			i, filepath.Join(e.Dir, fmt.Sprintf("count%d", i)), pad)
	}
	return b.String()
}

// counted reads how many times check ci has run.
func (e *agentEnv) counted(tb testing.TB, i int) int {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(e.Dir, fmt.Sprintf("count%d", i)))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

var runRE = regexp.MustCompile(`^RUN (\d+)`)

// runNumbers are the RUN numbers of a service's results, in arrival order,
// and how many of its results say the run was interrupted.
func runNumbers(rs []received) (nums []int, interrupted int) {
	for _, r := range rs {
		if m := runRE.FindStringSubmatch(r.Output); m != nil {
			n, _ := strconv.Atoi(m[1])
			nums = append(nums, n)
		} else if strings.HasPrefix(r.Output, "check interrupted") {
			interrupted++
		}
	}
	return nums, interrupted
}

// checkExact fails unless nums is 1, 2, ... in order with nothing repeated
// and at most allowGaps numbers missing.
func checkExact(tb testing.TB, where, service string, nums []int, allowGaps int) {
	tb.Helper()
	gaps := 0
	for i, n := range nums {
		prev := 0
		if i > 0 {
			prev = nums[i-1]
		}
		if n <= prev {
			tb.Fatalf("%s: %s: RUN %d after RUN %d: repeated or reordered (all: %v)", where, service, n, prev, nums)
		}
		gaps += n - prev - 1
	}
	if gaps > allowGaps {
		tb.Fatalf("%s: %s: %d results missing (allowed %d): %v", where, service, gaps, allowGaps, nums)
	}
}

// waitAllArrived waits until commandFile holds, for each of the n counter
// checks, every run the plugin had counted when the wait began.
func (e *agentEnv) waitAllArrived(tb testing.TB, commandFile string, n int) map[string][]received {
	tb.Helper()
	want := make([]int, n)
	for i := range n {
		want[i] = e.counted(tb, i)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := readResults(tb, commandFile)
		done := true
		for i := range n {
			nums, _ := runNumbers(got[fmt.Sprintf("c%d", i)])
			if len(nums) == 0 || nums[len(nums)-1] < want[i] {
				done = false
			}
		}
		if done {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not every counted run arrived within 60s (want up to %v); got %v", commandFile, want, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// restart starts nsca again on the same port with the same config and
// command file, as after an outage.
func (n *nscaDaemon) restart(tb testing.TB) {
	tb.Helper()
	bin := peer(tb, "nsca")
	for attempt := 1; ; attempt++ {
		d := startProcess(tb, "nsca", bin, "-c", n.Config, "-f", "--single")
		d.Port, d.Addr = n.Port, n.Addr
		err := waitAccept(d)
		if err == nil {
			n.daemon = d
			return
		}
		d.Stop()
		if attempt == 20 {
			tb.Fatalf("nsca did not come back on %s: %v\n%s", n.Addr, err, d.Log.String())
		}
		time.Sleep(250 * time.Millisecond) // the port may still be held
	}
}

// stopAgent stops the agent with SIGTERM and waits for it.
func stopAgent(tb testing.TB, d *daemon) {
	tb.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(pollDeadline):
		tb.Fatalf("agent did not stop on SIGTERM; log:\n%s", d.Log.String())
	}
}

func TestSpoolOutageRealNSCA(t *testing.T) {
	e := newAgentEnv(t)
	const n = 3
	e.write(t, e.counterChecks(t, n, 0))
	e.start(t)
	e.waitResult(t, "c0", is(0, "RUN 2"))
	e.NSCA.Stop()
	time.Sleep(4 * time.Second) // results pile up in the spool
	e.NSCA.restart(t)
	got := e.waitAllArrived(t, e.NSCA.CommandFile, n)
	for i := range n {
		nums, _ := runNumbers(got[fmt.Sprintf("c%d", i)])
		checkExact(t, "nsca", fmt.Sprintf("c%d", i), nums, 0)
		if len(nums) < 5 {
			t.Errorf("c%d: only %d results; the outage should have held several", i, len(nums))
		}
	}
}

// The agent is stopped and started again while the server is down: what
// it spooled before is sent after, in order, exactly once.
func TestSpoolOutageAcrossAgentRestart(t *testing.T) {
	e := newAgentEnv(t)
	const n = 3
	e.write(t, e.counterChecks(t, n, 0))
	d := e.start(t)
	e.waitResult(t, "c0", is(0, "RUN 2"))
	e.NSCA.Stop()
	time.Sleep(2 * time.Second)
	stopAgent(t, d)
	if !strings.Contains(d.Log.String(), "stay in the spool") {
		t.Errorf("a stopping agent with unsent results should say they stay in the spool; log:\n%s", d.Log.String())
	}
	e.start(t)
	time.Sleep(2 * time.Second)
	e.NSCA.restart(t)
	got := e.waitAllArrived(t, e.NSCA.CommandFile, n)
	for i := range n {
		// A run in progress when the agent stopped is reported as
		// interrupted instead of with its number.
		nums, interrupted := runNumbers(got[fmt.Sprintf("c%d", i)])
		checkExact(t, "nsca", fmt.Sprintf("c%d", i), nums, interrupted)
	}
}

// Two groups: one nsca down for a while, both end with every result.
func TestSpoolFanOutTwoNSCA(t *testing.T) {
	e := newAgentEnv(t)
	other := startNSCA(t, 1, "agent-pw")
	e.Targets = e.target(e.NSCA.Addr, "") + "\n" + e.target(other.Addr, "")
	const n = 2
	e.write(t, e.counterChecks(t, n, 0))
	e.start(t)
	e.waitResult(t, "c0", is(0, "RUN 1"))
	other.Stop()
	time.Sleep(3 * time.Second)
	// The live one kept receiving meanwhile.
	before := len(readResults(t, e.NSCA.CommandFile)["c0"])
	time.Sleep(1500 * time.Millisecond)
	if after := len(readResults(t, e.NSCA.CommandFile)["c0"]); after <= before {
		t.Errorf("live nsca stopped receiving while the other was down (%d then %d)", before, after)
	}
	other.restart(t)
	for _, cf := range []string{e.NSCA.CommandFile, other.CommandFile} {
		got := e.waitAllArrived(t, cf, n)
		for i := range n {
			nums, _ := runNumbers(got[fmt.Sprintf("c%d", i)])
			checkExact(t, cf, fmt.Sprintf("c%d", i), nums, 0)
		}
	}
}

// A failover group: the primary is down, the standby receives; when the
// primary comes back, traffic returns to it. Between them, every result
// arrives once, in order.
func TestSpoolFailover(t *testing.T) {
	e := newAgentEnv(t)
	standby := startNSCA(t, 1, "agent-pw")
	primary := e.NSCA
	primary.Stop()
	e.Targets = e.target(primary.Addr, "dc1") + "\n" + e.target(standby.Addr, "dc1")
	const n = 2
	e.write(t, e.counterChecks(t, n, 0))
	d := e.start(t)
	waitLines(t, standby.CommandFile, 3)
	time.Sleep(1500 * time.Millisecond)
	primary.restart(t)
	// The primary is retried within the backoff cap and gets traffic back.
	deadline := time.Now().Add(90 * time.Second)
	for len(readResults(t, primary.CommandFile)["c0"]) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("traffic never returned to the primary; agent log:\n%s", d.Log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := []int{e.counted(t, 0), e.counted(t, 1)}
	deadline = time.Now().Add(30 * time.Second)
	for {
		s, p := readResults(t, standby.CommandFile), readResults(t, primary.CommandFile)
		done := true
		for i := range n {
			svc := fmt.Sprintf("c%d", i)
			sn, _ := runNumbers(s[svc])
			pn, _ := runNumbers(p[svc])
			all := append(sn, pn...)
			if len(all) == 0 || all[len(all)-1] < want[i] {
				done = false
				continue
			}
			checkExact(t, "standby then primary", svc, all, 0)
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every result arrived: standby %v, primary %v", s, p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(d.Log.String(), "standby") && !strings.Contains(d.Log.String(), "failover") {
		t.Errorf("the failover is not logged:\n%s", d.Log.String())
	}
}

// A small spool and a long outage: the oldest results go, the drop is
// counted and reported, and what is kept arrives in order.
func TestSpoolRetentionDropsOldestAndReports(t *testing.T) {
	e := newAgentEnv(t)
	e.Settings = "[spool]\nmax_bytes = \"256KiB\"\n"
	const n = 20
	e.write(t, e.counterChecks(t, n, 2000))
	e.NSCA.Stop()
	d := e.start(t)
	// 20 results of 2 KB a second fill 256 KiB in about 7 s.
	waitLog(t, d, "dropped")
	time.Sleep(2 * time.Second)
	e.NSCA.restart(t)
	got := e.waitAllArrived(t, e.NSCA.CommandFile, n)
	for i := range n {
		svc := fmt.Sprintf("c%d", i)
		nums, _ := runNumbers(got[svc])
		if nums[0] == 1 {
			t.Errorf("%s: RUN 1 arrived; the oldest should have been dropped", svc)
		}
		// What is kept arrives in order, never repeated. It is not always
		// without holes: retention keeps dropping the oldest while the
		// first batches after the outage are on their way, so a result
		// read just before its segment went may arrive while the next
		// ones are dropped.
		checkExact(t, "nsca", svc, nums, nums[len(nums)-1])
	}
	r := e.waitResult(t, "picket_spooler", is(2, "SPOOLER CRITICAL"))
	if !strings.Contains(r.Output, "results lost: ") || !strings.Contains(r.Output, "over spool.max_bytes") {
		t.Errorf("picket_spooler does not report the drop: %q", r.Output)
	}
}
