package main

import (
	"context"
	"fmt"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"

	"github.com/picket-monitoring/picket/internal/logs"
)

// runAsService hands the process to the service control manager, because
// the command line said --service: no heuristic decides it (Wine, and some
// Windows set-ups, run services outside session 0, where
// svc.IsWindowsService guesses wrong and the manager kills a process that
// never reported in). The agent logs to the Event Log.
func runAsService(_ context.Context, name string, sio stdio, run func(context.Context, logs.EventSink) int) int {
	p := &program{run: run}
	if l, err := eventlog.Open(name); err == nil {
		defer l.Close()
		p.sink = eventLogSink{l}
	}
	if err := svc.Run(name, serviceHandler{p}); err != nil {
		msg := fmt.Sprintf("picket: run as the service %s: %v (--service is for the service manager's command line only)", name, err)
		if p.sink != nil {
			p.sink.Error(msg)
		}
		fmt.Fprintln(sio.err, msg)
		return exitCritical
	}
	return exitOK
}

// serviceHandler reports StartPending, Running and StopPending to the
// service manager, with a wait hint that covers the agent's stop.
type serviceHandler struct{ p *program }

func (h serviceHandler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	if err := h.p.Start(nil); err != nil {
		return false, 1
	}
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for c := range req {
		switch c.Cmd {
		case svc.Interrogate:
			status <- c.CurrentStatus
		case svc.Stop, svc.Shutdown:
			status <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopTimeout.Milliseconds())}
			if err := h.p.Stop(nil); err != nil {
				if h.p.sink != nil {
					h.p.sink.Error("picket service: " + err.Error())
				}
				return false, 1
			}
			return false, 0
		}
	}
	return false, 0
}

// eventLogSink writes the agent's records to the Event Log.
type eventLogSink struct{ l *eventlog.Log }

func (e eventLogSink) Info(m string) error    { return e.l.Info(1, m) }
func (e eventLogSink) Warning(m string) error { return e.l.Warning(2, m) }
func (e eventLogSink) Error(m string) error   { return e.l.Error(3, m) }
