package icinga2

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CheckResult is one passive result for a host or service.
type CheckResult struct {
	Host    string
	Service string // empty: a host result
	// ExitStatus is the plugin's: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
	// For a host it is sent as UP (0, 1) or DOWN (2, 3, anything else).
	ExitStatus int
	Output     string   // first line
	LongOutput string   // further lines, sent after a newline
	PerfData   []string // one item per element: "'label'=value[UOM];warn;crit;min;max"
	// CheckSource names who ran the check (the agent's host name); empty
	// lets Icinga put its own node name.
	CheckSource string
	// ExecutionStart and ExecutionEnd are when the plugin really ran; zero
	// lets Icinga use the arrival time. Icinga keeps a result only if its
	// start is not older than the one it has.
	ExecutionStart time.Time
	ExecutionEnd   time.Time
	// TTL is how long the result stays fresh: with active checks enabled on
	// the object (check_command "passive"), Icinga sets it UNKNOWN "No
	// Passive Check Result Received." when no newer result came within
	// TTL. Zero: the object's check_interval.
	TTL time.Duration
}

// Object is the result's object name as Icinga spells it: "host!service" or
// "host".
func (r CheckResult) Object() string { return object(r.Host, r.Service) }

// wireResult is the body of POST /v1/actions/process-check-result.
type wireResult struct {
	Type           string      `json:"type"`
	Host           string      `json:"host,omitempty"`
	Service        string      `json:"service,omitempty"`
	ExitStatus     int         `json:"exit_status"`
	PluginOutput   string      `json:"plugin_output"`
	PerfData       []string    `json:"performance_data,omitempty"`
	CheckSource    string      `json:"check_source,omitempty"`
	ExecutionStart json.Number `json:"execution_start,omitempty"`
	ExecutionEnd   json.Number `json:"execution_end,omitempty"`
	TTL            json.Number `json:"ttl,omitempty"`
}

// encode builds the request body for r.
func (r CheckResult) encode() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	w := wireResult{Type: "Service", Service: r.Object(), ExitStatus: r.ExitStatus,
		PluginOutput: r.Output, PerfData: r.PerfData, CheckSource: r.CheckSource,
		ExecutionStart: seconds(r.ExecutionStart), ExecutionEnd: seconds(r.ExecutionEnd)}
	if r.Service == "" {
		w.Type, w.Host, w.Service = "Host", r.Host, ""
		w.ExitStatus = HostExitStatus(r.ExitStatus)
	} else if r.ExitStatus < 0 || r.ExitStatus > 3 {
		w.ExitStatus = 3
	}
	if r.LongOutput != "" {
		w.PluginOutput += "\n" + r.LongOutput
	}
	if w.ExecutionEnd == "" {
		// Icinga would put the arrival time, moving the state change there.
		w.ExecutionEnd = w.ExecutionStart
	}
	if r.TTL > 0 {
		w.TTL = json.Number(strconv.FormatFloat(r.TTL.Seconds(), 'f', -1, 64))
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("icinga2: encode result for %s: %w", r.Object(), err)
	}
	return b, nil
}

func (r CheckResult) validate() error {
	bad := func(what string) error {
		return fmt.Errorf("icinga2: result for %q: %s: %w", r.Object(), what, ErrInvalid)
	}
	switch {
	case r.Host == "":
		return bad("no host")
	case strings.Contains(r.Host, "!"):
		return bad(`a host name cannot contain "!"`)
	case beforeEpoch(r.ExecutionStart) || beforeEpoch(r.ExecutionEnd):
		return bad("execution time before 1970")
	}
	return nil
}

// HostExitStatus is the exit status a host result is sent with: Icinga
// takes only 0 (UP) and 1 (DOWN). OK and WARNING are UP, the rest DOWN.
func HostExitStatus(plugin int) int {
	if plugin == 0 || plugin == 1 {
		return 0
	}
	return 1
}

func beforeEpoch(t time.Time) bool { return !t.IsZero() && t.Unix() < 0 }

// seconds writes t as exact decimal seconds since the epoch, to the
// microsecond (Icinga keeps a double), or "" for the zero time.
func seconds(t time.Time) json.Number {
	if t.IsZero() {
		return ""
	}
	return json.Number(fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000))
}

// ProcessCheckResult delivers one result. It returns nil only when Icinga
// answered 200 for it. A result whose ExecutionStart is older than one this
// Client already delivered for the same object is not sent (ErrOutdated):
// Icinga 2.13 would answer 200 and drop it.
func (c *Client) ProcessCheckResult(ctx context.Context, r CheckResult) error {
	body, err := r.encode()
	if err != nil {
		return err
	}
	key := r.Object()
	if prev, ok := c.newestFor(key); ok && r.ExecutionStart.Before(prev) && !r.ExecutionStart.IsZero() {
		return fmt.Errorf("icinga2: result for %s executed at %s, before %s already delivered: %w",
			key, r.ExecutionStart.Format(time.RFC3339Nano), prev.Format(time.RFC3339Nano), ErrOutdated)
	}
	status, reply, err := c.call(ctx, "POST", "/v1/actions/process-check-result", body)
	if err != nil {
		return err
	}
	if err := checkResultError(parseReply(status, reply), r.Host, r.Service); err != nil {
		return err
	}
	c.delivered(key, r.ExecutionStart)
	return nil
}

func (c *Client) newestFor(key string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.newest[key]
	return t, ok
}

// delivered remembers the latest execution start Icinga took for key.
func (c *Client) delivered(key string, start time.Time) {
	if start.IsZero() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if start.After(c.newest[key]) {
		c.newest[key] = start
	}
}
