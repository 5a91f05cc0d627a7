package builtin

import (
	"context"
	"errors"
	"io/fs"
	"time"
)

// OS is everything the built-in checks read from the machine. Each check
// uses a small part of it; System is the real one, and the tests have a fake
// that serves fixed figures. Methods that the running OS cannot answer
// return an error wrapping ErrUnsupported, which the check reports as
// UNKNOWN saying so.
type OS interface {
	Clock
	CPUTimes(ctx context.Context) ([]CPUTimes, error)
	LoadAvg(ctx context.Context) (LoadAvg, error)
	Memory(ctx context.Context) (Memory, error)
	Swap(ctx context.Context) (Swap, error)
	Filesystems(ctx context.Context) ([]Filesystem, error)
	DiskUsage(ctx context.Context, mount string) (DiskUsage, error)
	Processes(ctx context.Context) ([]Process, error)
	// SelfPID is the pid of the process running the check, which procs
	// leaves out, as check_procs does, since its own command line holds
	// the pattern it looks for.
	SelfPID() int
	Service(ctx context.Context, name string) (ServiceStatus, error)
	Uptime(ctx context.Context) (time.Duration, error)
	Files
	EventLog
	StateStore
}

// Clock is time as the checks see it; the fake moves it without sleeping.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, and returns ctx's error then.
	Sleep(ctx context.Context, d time.Duration) error
}

// Files is the file system part: glob patterns and file metadata.
type Files interface {
	Glob(pattern string) ([]string, error)
	Stat(name string) (fs.FileInfo, error)
}

// EventLog reads the Windows event log.
type EventLog interface {
	// LastRecord is the number of the newest record in log, 0 for an
	// empty log.
	LastRecord(ctx context.Context, log string) (uint64, error)
	// Events returns the events of log with a record number above after,
	// oldest first, at most max of them. When the log no longer holds
	// record after+1 (overwritten, or the log was cleared and numbering
	// started again), it reads from the oldest record.
	Events(ctx context.Context, log string, after uint64, max int) ([]Event, error)
}

// StateStore keeps small named blobs between runs of a check (eventlog's
// read positions). Load of a name never saved returns fs.ErrNotExist.
type StateStore interface {
	LoadState(name string) ([]byte, error)
	SaveState(name string, data []byte) error
}

// ErrUnsupported is wrapped by errors for what this OS does not have (a
// load average on Windows, an event log on Linux).
var ErrUnsupported = errors.New("not supported on this system")

// ErrNoServiceManager is wrapped when there is no service manager to ask:
// Linux without systemd running, or an OS picket does not know one of.
var ErrNoServiceManager = errors.New("no service manager")

// ErrNoService is wrapped when the service manager does not know a service.
var ErrNoService = errors.New("no such service")

// ErrNoStateDir is wrapped by StateStore errors when no state folder was
// given (PICKET_STATE_DIR or --state-dir).
var ErrNoStateDir = errors.New("no state folder: set PICKET_STATE_DIR or pass --state-dir")

// CPUTimes is one core's cumulative time by kind, in seconds.
type CPUTimes struct {
	User, System, Idle, IOWait, Steal, Other float64
}

func (t CPUTimes) total() float64 {
	return t.User + t.System + t.Idle + t.IOWait + t.Steal + t.Other
}

// LoadAvg is the 1, 5 and 15 minute load average and the number of CPUs.
type LoadAvg struct {
	Load1, Load5, Load15 float64
	CPUs                 int
}

// Memory is physical memory in bytes. Available is what programs can still
// get without swapping (Linux MemAvailable, Windows available physical).
type Memory struct {
	Total, Available uint64
}

// Swap is swap space (Windows: the page files) in bytes.
type Swap struct {
	Total, Free uint64
}

// Filesystem is one mounted file system (or Windows drive).
type Filesystem struct {
	// Mount is the mount point, or the drive ("C:") on Windows.
	Mount  string
	Device string
	Type   string
}

// DiskUsage is space and inodes of one file system. Size is what a user can
// fill, used plus available (without the blocks reserved for root), as df
// and check_disk count percentages.
type DiskUsage struct {
	Size, Used, Avail  uint64
	Inodes, InodesUsed uint64 // 0 where the file system has none
}

// Process is one process as procs matches it.
type Process struct {
	PID, PPID int
	// Name is the command name (Linux comm, 15 bytes at most; Windows the
	// image name without .exe).
	Name string
	// Args is the whole command line, arguments separated by spaces.
	Args string
	// User is the owner's name, or the numeric uid when it has none.
	User string
	// UID is the numeric owner on Unix, -1 on Windows.
	UID int
	// State is the ps(1) state letter: R, S, D, Z, T, I, ...; empty where
	// the OS has none.
	State string
	// Kernel marks kernel threads (Linux: no command line).
	Kernel bool
}

// Service states, the same words on every OS.
const (
	ServiceRunning  = "running"
	ServiceStopped  = "stopped"
	ServiceStarting = "starting"
	ServiceStopping = "stopping"
	ServicePaused   = "paused"
	ServiceFailed   = "failed"
)

// ServiceStatus is what the service manager says of one service.
type ServiceStatus struct {
	Name string
	// State is one of the Service* words.
	State string
	// Detail is the manager's own word (systemd's SubState, Windows'
	// state name), shown in the output.
	Detail string
	// StartType is how it starts: Windows auto, delayed-auto, manual,
	// disabled; systemd's UnitFileState: enabled, disabled, static, ...
	StartType string
}

// Event is one Windows event log record.
type Event struct {
	Record uint64
	Time   time.Time
	Source string
	// Level is error, warning, information, audit_success or
	// audit_failure.
	Level string
	ID    uint32
	// Message is the event's insertion strings joined, since the full
	// text needs the source's message DLL.
	Message string
}
