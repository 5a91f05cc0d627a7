//go:build unix

package plugins

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The fake plugins. Each acts out one way a real plugin behaves and returns
// its exit code. Files they are told to write (pid files) come as arguments,
// so tests never depend on the environment reaching them.
func init() {
	fakes["fake_ok"] = func([]string) int {
		fmt.Print("OK - all good | load=0.5;1;2 'free space'=80%;20;10\nfirst long line\nsecond long line | rss=12MB\n")
		return 0
	}
	fakes["fake_warn"] = func([]string) int {
		fmt.Println("WARNING - disk 91% | disk=91%;90;95")
		return 1
	}
	fakes["fake_exit"] = func(args []string) int {
		code, _ := strconv.Atoi(args[0])
		fmt.Println(strings.Join(args[1:], " "))
		return code
	}
	fakes["fake_exit7"] = func([]string) int {
		fmt.Print("weird state | a=1\nmore detail\n")
		return 7
	}
	fakes["fake_badperf"] = func([]string) int {
		fmt.Println("OK - mixed | good=1 bad=abc also=2s")
		return 0
	}
	fakes["fake_stderr"] = func([]string) int {
		fmt.Print(" \n\t\n")
		fmt.Fprintln(os.Stderr, "CRITICAL - config file missing")
		return 2
	}
	fakes["fake_silent"] = func([]string) int { return 1 }
	fakes["fake_signal"] = fakeSignal
	fakes["fake_flood"] = fakeFlood
	fakes["fake_env"] = fakeEnv
	fakes["fake_hang"] = fakeHang
	fakes["fake_grandchild"] = fakeGrandchild
	fakes["fake_sleeper"] = fakeSleeper
}

// fakeSignal kills itself: fake_signal KILL|TERM [words to print first].
func fakeSignal(args []string) int {
	if len(args) > 1 {
		fmt.Println(strings.Join(args[1:], " "))
	}
	sig := map[string]syscall.Signal{"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM}[args[0]]
	_ = syscall.Kill(os.Getpid(), sig)
	time.Sleep(time.Hour) // the signal may arrive a moment later
	return 0
}

// floodTotal is what fake_flood writes to stdout: 100 MiB.
const floodTotal = 100 << 20

func fakeFlood([]string) int {
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	first := "OK flood | bytes=104857600B\n"
	w.WriteString(first)
	line := strings.Repeat("x", 1023) + "\n"
	left := floodTotal - len(first)
	for left > 0 {
		n, _ := w.WriteString(line[:min(len(line), left)])
		left -= n
	}
	if err := w.Flush(); err != nil {
		return 3
	}
	return 0
}

// envReport is what fake_env prints, base64 on its second line so no
// value can disturb the output parser.
type envReport struct {
	Args []string
	Env  map[string]string
}

func fakeEnv(args []string) int {
	rep := envReport{Args: args, Env: map[string]string{}}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "NAGIOS_") || strings.HasPrefix(k, "PICKET_SECRET_") || k == "PATH" || k == "KEEP_ME" {
			rep.Env[k] = v
		}
	}
	js, _ := json.Marshal(rep)
	fmt.Printf("OK env\n%s\n", base64.StdEncoding.EncodeToString(js))
	return 0
}

// fakeHang prints a line, writes its pid and never ends:
// fake_hang PIDFILE [-ignore-term].
func fakeHang(args []string) int {
	if slices.Contains(args, "-ignore-term") {
		signal.Ignore(syscall.SIGTERM)
	}
	fmt.Println("still working")
	if err := os.WriteFile(args[0], []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return 3
	}
	time.Sleep(time.Hour)
	return 0
}

// fakeGrandchild starts a child of itself that inherits stdout and stderr
// and sleeps, writes "PARENT CHILD" pids to PIDFILE, prints its answer, then
// exits or hangs:
//
//	fake_grandchild exit|hang PIDFILE [-ignore-term] [-setsid]
//
// With -setsid the child leaves the plugin's process group, as a daemon
// would, so nothing can kill it by group.
func fakeGrandchild(args []string) int {
	mode, pidfile := args[0], args[1]
	ignoreTerm := slices.Contains(args, "-ignore-term")
	if ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	ready, readyW, err := os.Pipe()
	if err != nil {
		return 3
	}
	child := exec.Command(os.Args[0])
	child.Args = []string{"fake_sleeper"}
	if ignoreTerm {
		child.Args = append(child.Args, "-ignore-term")
	}
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	child.ExtraFiles = []*os.File{readyW}
	if slices.Contains(args, "-setsid") {
		child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := child.Start(); err != nil {
		fmt.Println("UNKNOWN - cannot start child:", err)
		return 3
	}
	readyW.Close()
	// Wait until the child has set up its signals, so the test exercises
	// what it means to.
	if _, err := ready.Read(make([]byte, 1)); err != nil {
		return 3
	}
	pids := fmt.Sprintf("%d %d", os.Getpid(), child.Process.Pid)
	if err := os.WriteFile(pidfile, []byte(pids), 0o644); err != nil {
		return 3
	}
	fmt.Println("OK parent done | kids=1")
	if mode == "hang" {
		time.Sleep(time.Hour)
	}
	return 0
}

// fakeSleeper is fake_grandchild's child: it holds the inherited pipes and
// sleeps, after telling its parent on fd 3 that it is ready.
func fakeSleeper(args []string) int {
	if slices.Contains(args, "-ignore-term") {
		signal.Ignore(syscall.SIGTERM)
	}
	ready := os.NewFile(3, "ready")
	ready.Write([]byte{1})
	ready.Close()
	time.Sleep(time.Hour)
	return 0
}
