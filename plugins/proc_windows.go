//go:build windows

package plugins

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// procTree is the plugin's job object. Every process the plugin starts
// joins the job too, so TerminateJobObject ends the whole tree, and
// KILL_ON_JOB_CLOSE ends it even if the agent itself dies.
//
// The plugin starts suspended and is resumed only once it is in the job, so
// there is no window in which it could start a child outside the job.
type procTree struct {
	cmd *exec.Cmd
	job windows.Handle
}

// containment needs no choice on Windows: the job object holds every run.
type containment struct{}

func newContainment(Config) *containment { return &containment{} }

func (*containment) describe() string { return "job object" }

func newTree(cmd *exec.Cmd, _ *containment) (*procTree, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("set job object limits: %w", err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CreationFlags: windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP,
		HideWindow:    true,
	}
	return &procTree{cmd: cmd, job: job}, nil
}

func (t *procTree) start() error { return t.cmd.Start() }

func (t *procTree) wait() error { return t.cmd.Wait() }

// useShell hands cmd.exe the line untouched: the quoting os/exec applies to
// arguments follows CommandLineToArgvW, which cmd.exe does not use. /S makes
// cmd.exe strip exactly the outer quotes added here.
func useShell(cmd *exec.Cmd) {
	cmd.SysProcAttr.CmdLine = `cmd.exe /S /C "` + cmd.Args[2] + `"`
}

// started puts the suspended plugin into the job, then lets it run.
func (t *procTree) started() error {
	pid := uint32(t.cmd.Process.Pid)
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, pid)
	if err != nil {
		return fmt.Errorf("open plugin process %d: %w", pid, err)
	}
	err = windows.AssignProcessToJobObject(t.job, h)
	windows.CloseHandle(h)
	if err != nil {
		return fmt.Errorf("assign plugin process %d to its job object: %w", pid, err)
	}
	return resumeProcess(pid)
}

// errNoThread is a process whose first thread is not listed yet.
var errNoThread = errors.New("no thread found")

// resumeProcess resumes the only thread of a process created suspended;
// os.StartProcess does not hand out the thread handle it had. Under Wine
// the new process registers its first thread a moment after CreateProcess
// returns, so a snapshot without it is taken again, for a bounded while.
func resumeProcess(pid uint32) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := resumeFirstThread(pid)
		if !errors.Is(err, errNoThread) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func resumeFirstThread(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("list threads of plugin process %d: %w", pid, err)
	}
	defer windows.CloseHandle(snap)
	te := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if te.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			return fmt.Errorf("open main thread of plugin process %d: %w", pid, err)
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resume plugin process %d: %w", pid, err)
		}
		return nil
	}
	return fmt.Errorf("resume plugin process %d: %w", pid, errNoThread)
}

// terminate ends the whole job at once: Windows has no polite signal a
// console plugin reliably gets. The direct Kill covers a plugin not yet in
// the job when the context ended.
func (t *procTree) terminate() error {
	jobErr := windows.TerminateJobObject(t.job, 1)
	if err := t.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	if jobErr != nil {
		return fmt.Errorf("terminate job object: %w", jobErr)
	}
	return nil
}

func (t *procTree) kill() { _ = windows.TerminateJobObject(t.job, 1) }

func (t *procTree) release() { windows.CloseHandle(t.job) }

// killedBySignal is never true on Windows: a killed process has an exit code.
func killedBySignal(*os.ProcessState) (string, bool) { return "", false }
