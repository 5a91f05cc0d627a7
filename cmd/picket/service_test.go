package main

import (
	"context"
	"strings"
	"testing"

	"github.com/picket-monitoring/picket/internal/logs"
)

// Stop cancels the running agent and returns once it has finished, with
// its failure if it had one; the sink reaches the agent.
func TestProgramStartStop(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
		want string
	}{
		{"clean", exitOK, ""},
		{"failed", exitCritical, "exit code 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotSink logs.EventSink
			finished := false
			p := &program{sink: memorySink{}, run: func(ctx context.Context, sink logs.EventSink) int {
				gotSink = sink
				<-ctx.Done()
				finished = true
				return tc.code
			}}
			if err := p.Start(nil); err != nil {
				t.Fatal(err)
			}
			err := p.Stop(nil)
			if !finished {
				t.Error("Stop returned before the agent finished")
			}
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Stop: %v, want %q", err, tc.want)
			}
			if gotSink == nil {
				t.Error("the agent did not get the event sink")
			}
		})
	}
}

func TestServiceConfig(t *testing.T) {
	// --service on the command line, never a heuristic, makes picket the
	// service; Windows recovery actions are left to setup.ServiceRecovery,
	// which warns where kardianos' OnFailure would fail the install.
	c := serviceConfig("picket", "/etc/picket/picket.toml", false, "")
	if strings.Join(c.Arguments, " ") != "run --service --config /etc/picket/picket.toml" || c.Option["OnFailure"] != nil || c.Option["Restart"] != "on-failure" {
		t.Errorf("agent: %+v", c)
	}
	c = serviceConfig("picket-server", "/etc/picket/server.toml", true, "nagios")
	if strings.Join(c.Arguments, " ") != "server --service --config /etc/picket/server.toml" || c.UserName != "nagios" {
		t.Errorf("server: %+v", c)
	}
}

// memorySink is an EventSink that keeps nothing.
type memorySink struct{}

func (memorySink) Info(string) error    { return nil }
func (memorySink) Warning(string) error { return nil }
func (memorySink) Error(string) error   { return nil }
