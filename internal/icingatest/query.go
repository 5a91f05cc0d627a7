package icingatest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// ErrNoObject is returned by the queries for an object Icinga does not
// know.
var ErrNoObject = errors.New("icingatest: no such object")

// Result is an object's last_check_result as Icinga stored it.
type Result struct {
	ExitStatus     int // always 0 for a passive result: Icinga keeps only its state
	State          int // service: 0..3; a host's result is stored as 0 (UP) or 2 (DOWN)
	Output         string
	PerfData       []string
	CheckSource    string
	ExecutionStart time.Time
	ExecutionEnd   time.Time
	TTL            time.Duration
	Active         bool // true: Icinga ran it itself (a freshness check), not a passive result
}

// Object is a host or service as the API shows it.
type Object struct {
	Name      string
	State     int // host: 0 UP, 1 DOWN; service: 0..3
	StateType int // 0 soft, 1 hard
	LastCheck time.Time
	NextCheck time.Time
	Templates []string
	Vars      map[string]any
	Result    *Result // nil until the first result
}

// Service returns host!svc, or ErrNoObject.
func (in *Instance) Service(ctx context.Context, host, svc string) (Object, error) {
	return in.object(ctx, "services", url.PathEscape(host)+"!"+url.PathEscape(svc))
}

// Host returns the host, or ErrNoObject.
func (in *Instance) Host(ctx context.Context, host string) (Object, error) {
	return in.object(ctx, "hosts", url.PathEscape(host))
}

// wireObject is one entry of GET /v1/objects/<type>/<name>.
type wireObject struct {
	Name  string `json:"name"`
	Attrs struct {
		State      float64        `json:"state"`
		StateType  float64        `json:"state_type"`
		LastCheck  float64        `json:"last_check"`
		NextCheck  float64        `json:"next_check"`
		Templates  []string       `json:"templates"`
		Vars       map[string]any `json:"vars"`
		LastResult *struct {
			ExitStatus     float64 `json:"exit_status"`
			State          float64 `json:"state"`
			Output         string  `json:"output"`
			PerfData       []any   `json:"performance_data"`
			CheckSource    string  `json:"check_source"`
			ExecutionStart float64 `json:"execution_start"`
			ExecutionEnd   float64 `json:"execution_end"`
			TTL            float64 `json:"ttl"`
			Active         bool    `json:"active"`
		} `json:"last_check_result"`
	} `json:"attrs"`
}

func (in *Instance) object(ctx context.Context, kind, escapedName string) (Object, error) {
	var reply struct {
		Results []wireObject `json:"results"`
	}
	code, err := in.queryCli.get(ctx, "/v1/objects/"+kind+"/"+escapedName, &reply)
	if err != nil {
		return Object{}, err
	}
	if code == http.StatusNotFound {
		return Object{}, fmt.Errorf("%w: %s %s", ErrNoObject, kind, escapedName)
	}
	if code != http.StatusOK || len(reply.Results) != 1 {
		return Object{}, fmt.Errorf("icingatest: GET %s %s: HTTP %d with %d results", kind, escapedName, code, len(reply.Results))
	}
	w := reply.Results[0]
	o := Object{Name: w.Name, State: int(w.Attrs.State), StateType: int(w.Attrs.StateType),
		LastCheck: unixFloat(w.Attrs.LastCheck), NextCheck: unixFloat(w.Attrs.NextCheck),
		Templates: w.Attrs.Templates, Vars: w.Attrs.Vars}
	if r := w.Attrs.LastResult; r != nil {
		o.Result = &Result{ExitStatus: int(r.ExitStatus), State: int(r.State), Output: r.Output,
			CheckSource: r.CheckSource, ExecutionStart: unixFloat(r.ExecutionStart),
			ExecutionEnd: unixFloat(r.ExecutionEnd), Active: r.Active,
			TTL: time.Duration(r.TTL * float64(time.Second))}
		for _, p := range r.PerfData {
			if s, ok := p.(string); ok {
				o.Result.PerfData = append(o.Result.PerfData, s)
				continue
			}
			b, _ := json.Marshal(p)
			o.Result.PerfData = append(o.Result.PerfData, string(b))
		}
	}
	return o, nil
}

// unixFloat turns Icinga's seconds since the epoch (a double) into a time,
// rounded to the microsecond: a double near 2e9 holds no finer digits.
func unixFloat(f float64) time.Time {
	if f == 0 {
		return time.Time{}
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), 0).Add(time.Duration(math.Round((f-sec)*1e6)) * time.Microsecond)
}

// DebugLog returns Icinga's debug log so far.
func (in *Instance) DebugLog() (string, error) {
	b, err := os.ReadFile(in.debugLog())
	if err != nil {
		return "", fmt.Errorf("icingatest: %w", err)
	}
	return string(b), nil
}

// skippedRE matches Icinga's debug line for a result it answered 200 but
// dropped because it was older than the one it had.
var skippedRE = regexp.MustCompile(`Skipping check result for checkable '([^']*)' from`)

// Skipped counts, per object ("host" or "host!svc"), the results Icinga
// answered 200 but dropped as older than the one it had: it says so only in
// its debug log. The log is flushed once a second, so Skipped first makes
// Icinga log a marker request and waits for it: every result answered
// before the call is then counted.
func (in *Instance) Skipped(ctx context.Context) (map[string]int, error) {
	marker, err := randomHex(8)
	if err != nil {
		return nil, err
	}
	if _, err := in.queryCli.status(ctx, "/v1/status/IcingaApplication?picket_marker="+marker); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, readyDeadline)
	defer cancel()
	for {
		log, err := in.DebugLog()
		if err != nil {
			return nil, err
		}
		if strings.Contains(log, "picket_marker="+marker) {
			n := map[string]int{}
			for _, m := range skippedRE.FindAllStringSubmatch(log, -1) {
				n[m[1]]++
			}
			return n, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("icingatest: waiting for the debug log to show marker %s: %w", marker, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// queryClient reads the API as User, verifying the instance's certificate.
type queryClient struct {
	in *Instance
	hc *http.Client
}

func newQueryClient(in *Instance) (*queryClient, error) {
	pem, err := os.ReadFile(in.CAFile)
	if err != nil {
		return nil, fmt.Errorf("icingatest: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("icingatest: no certificate in %s", in.CAFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: NodeName, MinVersion: tls.VersionTLS12}}
	return &queryClient{in: in, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

func (q *queryClient) close() { q.hc.CloseIdleConnections() }

func (q *queryClient) status(ctx context.Context, path string) (int, error) {
	return q.get(ctx, path, nil)
}

// get fetches path and decodes a 200 reply into v (if not nil).
func (q *queryClient) get(ctx context.Context, path string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.in.URL+path, nil)
	if err != nil {
		return 0, fmt.Errorf("icingatest: %w", err)
	}
	req.SetBasicAuth(User, q.in.Password)
	req.Header.Set("Accept", "application/json")
	resp, err := q.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("icingatest: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("icingatest: GET %s: %w", path, err)
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, fmt.Errorf("icingatest: GET %s: %w", path, err)
		}
	}
	return resp.StatusCode, nil
}
