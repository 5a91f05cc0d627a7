package agent

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/picket-monitoring/picket/internal/check"
	"github.com/picket-monitoring/picket/internal/config"
	"github.com/picket-monitoring/picket/internal/control"
	"github.com/picket-monitoring/picket/poller"
	"github.com/picket-monitoring/picket/spooler"
)

// Status is what a running agent says of itself: `picket status`.
type Status struct {
	Version     string            `json:"version"`
	Host        string            `json:"host"`
	Config      string            `json:"config"`
	Started     time.Time         `json:"started"`
	Containment string            `json:"plugin_containment"`
	Externals   string            `json:"externals,omitempty"` // picket_externals' output
	Checks      []CheckView       `json:"checks"`
	Targets     []TargetView      `json:"targets"`
	Spool       SpoolView         `json:"spool"`
	Lost        []LossEvent       `json:"lost,omitempty"`
	Poller      poller.Stats      `json:"poller"`
	Watches     poller.WatchStats `json:"watches"`
}

// CheckView is one check as `picket status` shows it.
type CheckView struct {
	Host     string    `json:"host"`
	Service  string    `json:"service"`
	Source   string    `json:"source"` // "local (picket.toml:12)" or "externals"
	Schedule string    `json:"schedule"`
	LastRun  time.Time `json:"last_run,omitzero"`
	State    string    `json:"state,omitempty"`
	Output   string    `json:"output,omitempty"`
	Duration string    `json:"duration,omitempty"`
	NextRun  time.Time `json:"next_run,omitzero"`
	Running  bool      `json:"running,omitempty"`
	Late     uint64    `json:"late_runs"`
	Skipped  uint64    `json:"skipped_runs"`
	Attempt  int       `json:"attempt,omitempty"`
}

// TargetView is one target group.
type TargetView struct {
	Cursor       string    `json:"cursor"`
	Targets      []string  `json:"targets"`
	Active       string    `json:"active,omitempty"`
	Queued       uint64    `json:"queued"`
	OldestUnsent time.Time `json:"oldest_unsent,omitzero"`
	Sent         uint64    `json:"sent"`
	LastSuccess  time.Time `json:"last_success,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	ClockOffset  []string  `json:"clock_offset,omitempty"` // per target, "+0s"
	Unchanged    uint64    `json:"unchanged_not_sent"`
	Refused      uint64    `json:"refused"`
}

// SpoolView is the spool as a whole.
type SpoolView struct {
	Dir      string `json:"dir"`
	Records  uint64 `json:"records"`
	Bytes    int64  `json:"bytes"`
	MaxBytes int64  `json:"max_bytes"`
}

// status builds the agent's Status now.
func (a *Agent) status() Status {
	cfg := a.cfg
	now := time.Now()
	st := Status{Version: a.o.Version, Host: cfg.Hostname, Config: cfg.File, Started: a.started,
		Containment: a.runner.p.Load().Containment(), Poller: a.poller.Stats(), Watches: a.watch.Stats()}
	if a.ext != nil {
		st.Externals = a.ext.m.report(now).Output
	}
	st.Checks = a.checkViews()
	spst := a.spool.Stats()
	st.Spool = SpoolView{Dir: cfg.SpoolDir, Records: spst.Records, Bytes: spst.Bytes, MaxBytes: int64(cfg.Spool.MaxBytes)}
	for _, g := range a.send.Stats().Groups {
		st.Targets = append(st.Targets, targetView(g, spst.Cursors[g.Cursor].Pending, spst.Cursors[g.Cursor].Oldest))
	}
	st.Lost = a.losses.active(now, cfg.Health.LossAlert.Duration)
	return st
}

func targetView(g spooler.GroupStats, queued uint64, oldest time.Time) TargetView {
	v := TargetView{Cursor: g.Cursor, Active: g.Active, Queued: queued, OldestUnsent: oldest, Sent: g.Sent,
		LastSuccess: g.LastSuccess, LastError: g.LastError, Unchanged: g.Unchanged, Refused: g.Refused}
	for _, t := range g.Targets {
		v.Targets = append(v.Targets, t.Name)
		if t.ClockKnown {
			v.ClockOffset = append(v.ClockOffset, fmt.Sprintf("%s %+ds", t.Name, int64(t.ClockOffset.Seconds())))
		}
	}
	return v
}

// checkViews lists every check the agent runs, polled and watched.
func (a *Agent) checkViews() []CheckView {
	m := a.running.Load()
	if m == nil {
		return nil
	}
	status := map[check.Key]poller.CheckStatus{}
	for _, s := range slices.Concat(a.poller.Checks(), a.watch.Checks()) {
		status[s.Key] = s
	}
	var out []CheckView
	for k, c := range *m {
		s := status[k]
		v := CheckView{Host: k.Host, Service: k.Service, Source: a.source(c), Schedule: scheduleText(c),
			LastRun: s.LastStart, NextRun: s.Next, Running: s.Running, Late: s.Late, Skipped: s.Skipped, Attempt: s.Attempt}
		if s.Runs > 0 {
			v.State, v.Output, v.Duration = s.LastState.String(), s.LastOutput, s.LastDuration.Round(time.Millisecond).String()
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(x, y CheckView) int {
		return cmp.Or(cmp.Compare(x.Host, y.Host), cmp.Compare(x.Service, y.Service))
	})
	return out
}

// source says where c comes from: the agent's own file (with its line) or
// the externals.
func (a *Agent) source(c check.Check) string {
	if o, ok := a.cfg.Origins[c.Key()]; ok && slices.Contains(a.cfg.Checks, c) {
		return fmt.Sprintf("local (%s:%d)", o.File, o.Line)
	}
	return "externals"
}

// scheduleText is c's schedule in a few words.
func scheduleText(c check.Check) string {
	var parts []string
	switch {
	case c.Watch:
		parts = append(parts, fmt.Sprintf("watch every %s, report every %s", c.WatchInterval, c.Interval))
	case c.Cron != "":
		parts = append(parts, "cron "+c.Cron)
	default:
		parts = append(parts, "every "+c.Interval.String())
	}
	if c.MaxAttempts > 1 && c.RetryInterval > 0 {
		parts = append(parts, fmt.Sprintf("retry every %s up to %d", c.RetryInterval, c.MaxAttempts))
	}
	if c.SendOnChange {
		parts = append(parts, "sent on change, heartbeat "+c.Heartbeat.String())
	}
	return strings.Join(parts, "; ")
}

// statusOnServe asks the serve loop, which owns the config and the
// externals, for the status; without one (an agent started but not
// served), it says so.
func (a *Agent) statusOnServe(r *http.Request) (Status, error) {
	reply := make(chan Status, 1)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case a.statusReq <- reply:
	case <-t.C:
		return Status{}, errors.New("the agent is busy (starting, reloading or stopping): try again")
	case <-r.Context().Done():
		return Status{}, r.Context().Err()
	}
	return <-reply, nil
}

// RunNowRequest asks a running agent to run checks at once.
type RunNowRequest struct {
	Services []string `json:"services"`
	All      bool     `json:"all"`
}

// RunNowResponse says which ran.
type RunNowResponse struct {
	Ran []string `json:"ran"`
}

// controlHandler is the agent's side of the control channel.
func (a *Agent) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := a.statusOnServe(r)
		if err != nil {
			control.WriteError(w, http.StatusServiceUnavailable, err)
			return
		}
		control.WriteJSON(w, st)
	})
	mux.HandleFunc("POST /v1/run-now", func(w http.ResponseWriter, r *http.Request) {
		var req RunNowRequest
		if err := decodeJSON(r, &req); err != nil {
			control.WriteError(w, http.StatusBadRequest, err)
			return
		}
		ran, err := a.runNow(req)
		if err != nil {
			control.WriteError(w, http.StatusNotFound, err)
			return
		}
		control.WriteJSON(w, RunNowResponse{Ran: ran})
	})
	return mux
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad request: %w", err)
	}
	return nil
}

// runNow runs the checks req names (services of any host, or every one).
func (a *Agent) runNow(req RunNowRequest) ([]string, error) {
	m := a.running.Load()
	if m == nil {
		return nil, errors.New("no check is scheduled yet")
	}
	var polled, watched []check.Key
	var ran []string
	for k, c := range *m {
		if !req.All && !slices.Contains(req.Services, k.Service) {
			continue
		}
		if c.Watch && a.isWatched(k) {
			watched = append(watched, k)
		} else {
			polled = append(polled, k)
		}
		ran = append(ran, k.String())
	}
	for _, s := range req.Services {
		if !slices.ContainsFunc(ran, func(r string) bool { return r == s || strings.HasSuffix(r, "/"+s) }) {
			return nil, fmt.Errorf("no check %q (picket status lists them)", s)
		}
	}
	if err := errors.Join(a.poller.RunNow(polled), a.watch.RunNow(watched)); err != nil {
		return nil, err
	}
	slices.Sort(ran)
	return ran, nil
}

func (a *Agent) isWatched(k check.Key) bool {
	return slices.ContainsFunc(a.watch.Checks(), func(s poller.CheckStatus) bool { return s.Key == k })
}

// ControlPath is where an agent with cfg listens: the control_socket, or
// in state_dir (on Windows a named pipe).
func ControlPath(cfg *config.Config) string {
	if cfg.ControlSocket != "" {
		return cfg.ControlSocket
	}
	if runtime.GOOS == "windows" {
		return `\\.\pipe\picket`
	}
	return cfg.StateDir + "/control.sock"
}
