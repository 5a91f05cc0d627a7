package hub

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/autoreg"
	"github.com/picket-monitoring/picket/internal/control"
	"github.com/picket-monitoring/picket/internal/nagios"
	"github.com/picket-monitoring/picket/nsca"
)

// Status is what a running picket server says of itself: `picket server
// status`.
type Status struct {
	Version   string         `json:"version"`
	PID       int            `json:"pid"`
	Config    string         `json:"config,omitempty"`
	Started   time.Time      `json:"started"`
	Listeners []ListenerView `json:"listeners"`
	NSCA      *NSCAView      `json:"nsca,omitempty"`
	Nagios    *ObjectsView   `json:"nagios,omitempty"`
	Icinga2   *ObjectsView   `json:"icinga2,omitempty"`
	Hosts     *HostsView     `json:"hosts,omitempty"`
}

// ListenerView is one socket the server serves.
type ListenerView struct {
	Name    string `json:"name"` // nsca, http or control
	Address string `json:"address"`
	State   string `json:"state"` // up, error or stopped
	Error   string `json:"error,omitempty"`
}

// Listener states.
const (
	ListenerUp      = "up"
	ListenerError   = "error"
	ListenerStopped = "stopped"
)

// NSCAView is the receiver since the server started.
type NSCAView struct {
	// Received counts valid packets (results) handed on to Nagios.
	Received    uint64 `json:"received"`
	Legacy      uint64 `json:"legacy_packets"`
	Connections uint64 `json:"connections"`
	// Rate1m and Rate5m are results received a minute, over the last
	// one and five minutes.
	Rate1m Rate `json:"rate_1m"`
	Rate5m Rate `json:"rate_5m"`
	// Written, Queued and WriteErrors are the command-file queue's.
	Written     uint64   `json:"written"`
	Queued      int      `json:"queued"`
	WriteErrors uint64   `json:"write_errors"`
	Rejected    Rejected `json:"rejected"`
}

// Rate is a rate of results. Over is the time it was measured over: the
// one asked for, or the server's uptime while that is shorter.
type Rate struct {
	PerMinute float64 `json:"per_minute"`
	Over      string  `json:"over"`
}

// Rejected counts what the receiver turned away, by reason.
type Rejected struct {
	// BadVersion and BadCRC are packets that did not decrypt into a
	// valid packet: a wrong password or encryption method, or not NSCA.
	BadVersion uint64 `json:"bad_version"`
	BadCRC     uint64 `json:"bad_crc"`
	// Stale packets carried a timestamp beyond max_packet_age.
	Stale uint64 `json:"stale"`
	// Short packets were cut off by a hang-up or the read timeout.
	Short uint64 `json:"short"`
	// Handshake counts clients the init packet could not be sent to.
	Handshake uint64 `json:"handshake"`
	// RefusedConnections were closed at once: max_connections was reached.
	RefusedConnections uint64 `json:"refused_connections"`
	// RefusedPerSource were closed at once: their source address held
	// max_connections_per_source already.
	RefusedPerSource uint64 `json:"refused_per_source"`
	// CommandFileDropped are valid results Nagios never got: the
	// command-file queue was full, or a result file could not be written.
	CommandFileDropped uint64 `json:"command_file_dropped"`
}

// ObjectsView is the last update of the monitoring system's objects for
// the registered hosts: Nagios' files (validated, then reloaded) or
// Icinga 2's API objects.
type ObjectsView struct {
	// Last is the last update that wrote, validated or reloaded anything,
	// or failed; zero before the first.
	Last    time.Time `json:"last,omitzero"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
	Written []string  `json:"written,omitempty"`
	Removed []string  `json:"removed,omitempty"`
	// Validated says the validate_command accepted the objects of Last.
	Validated bool `json:"validated,omitempty"`
	// Reloaded says Nagios was asked to load them.
	Reloaded bool `json:"reloaded,omitempty"`
	// LastOK is the last update that succeeded; Checked the last look,
	// with or without changes.
	LastOK  time.Time `json:"last_ok,omitzero"`
	Checked time.Time `json:"checked,omitzero"`
}

// HostsView is the registry of agents.
type HostsView struct {
	Count int        `json:"count"`
	List  []HostView `json:"list"`
}

// HostView is one registered agent.
type HostView struct {
	Host    string `json:"host"`
	Profile string `json:"profile,omitempty"`
	Address string `json:"address,omitempty"`
	// Registered is the last registration, LastSeen the last contact
	// (registration or externals fetch).
	Registered time.Time `json:"registered,omitzero"`
	LastSeen   time.Time `json:"last_seen,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
}

// ControlPath is where the server of cfg listens for `picket server
// status`: control_socket, else control.sock in state_dir (on Windows a
// named pipe).
func ControlPath(cfg *Config) string {
	if cfg.ControlSocket != "" {
		return cfg.ControlSocket
	}
	if runtime.GOOS == "windows" {
		return `\\.\pipe\picket-server`
	}
	return filepath.Join(cmp.Or(cfg.StateDir, DefaultServerStateDir), "control.sock")
}

// board gathers what Status shows from the parts Run starts. Every method
// is safe on a nil board, which records nothing (tests that build a part
// alone).
type board struct {
	cfg     *Config
	started time.Time
	now     func() time.Time

	mu        sync.Mutex
	listeners []ListenerView
	recv      *receiverStats
	registry  *autoreg.Registry
	nagios    *ObjectsView
	icinga    *ObjectsView
}

// receiverStats are the NSCA receiver's counters and the samples its rate
// is taken from.
type receiverStats struct {
	srv   *nsca.Server
	queue *nagios.Queue
	drops *dropLedger
	rate  rateWindow // under board.mu
}

func newBoard(cfg *Config) *board {
	b := &board{cfg: cfg, now: time.Now}
	b.started = b.now()
	if cfg.Nagios != nil {
		b.nagios = &ObjectsView{}
	}
	if cfg.Icinga2 != nil {
		b.icinga = &ObjectsView{}
	}
	return b
}

// setListener records the state of the listener name.
func (b *board) setListener(name, addr, state string, err error) {
	if b == nil {
		return
	}
	v := ListenerView{Name: name, Address: addr, State: state}
	if err != nil {
		v.Error = err.Error()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := slices.IndexFunc(b.listeners, func(l ListenerView) bool { return l.Name == name }); i >= 0 {
		b.listeners[i] = v
		return
	}
	b.listeners = append(b.listeners, v)
}

// track records the listener name at addr as up, and run's end: an error,
// or a stop before the server's.
func (b *board) track(name string, addr net.Addr, run func(context.Context) error) func(context.Context) error {
	b.setListener(name, addr.String(), ListenerUp, nil)
	return func(ctx context.Context) error {
		err := run(ctx)
		switch {
		case err != nil:
			b.setListener(name, addr.String(), ListenerError, err)
		case ctx.Err() == nil:
			b.setListener(name, addr.String(), ListenerStopped, nil)
		}
		return err
	}
}

// attach takes the registry from the central side, and has it record its
// objects updates here.
func (b *board) attach(c *central) {
	if b == nil {
		return
	}
	c.status = b
	b.mu.Lock()
	b.registry = c.registry
	b.mu.Unlock()
}

// rateStep is how often the receiver's packet count is sampled.
const rateStep = 5 * time.Second

// watchNSCA samples the receiver's counters until stopped.
func (b *board) watchNSCA(ctx context.Context, srv *nsca.Server, q *nagios.Queue, drops *dropLedger) (stop func()) {
	if b == nil {
		return func() {}
	}
	r := &receiverStats{srv: srv, queue: q, drops: drops}
	b.mu.Lock()
	r.rate.add(b.started, 0)
	b.recv = r
	b.mu.Unlock()
	return every(ctx, rateStep, func(time.Time) {
		n := srv.Stats().Packets
		b.mu.Lock()
		r.rate.add(b.now(), n)
		b.mu.Unlock()
	})
}

// externalsInvalid records an objects update that did not start: an
// externals file is invalid.
func (b *board) externalsInvalid(err error) {
	if b == nil {
		return
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range []*ObjectsView{b.nagios, b.icinga} {
		if v != nil {
			*v = ObjectsView{Last: now, Error: "an externals file is invalid: " + err.Error(), LastOK: v.LastOK, Checked: now}
		}
	}
}

// icingaSynced records the outcome of creating Icinga 2's objects, and
// passes err on.
func (b *board) icingaSynced(err error) error {
	if b == nil || b.icinga == nil {
		return err
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	v := ObjectsView{Last: now, OK: err == nil, LastOK: b.icinga.LastOK, Checked: now}
	if err != nil {
		v.Error = err.Error()
	} else {
		v.LastOK = now
	}
	*b.icinga = v
	return err
}

// nagiosSynced records the outcome of a Nagios objects update, and passes
// it on. A Sync that found nothing to do only counts as a look.
func (b *board) nagiosSynced(res nagios.SyncResult, err error) (nagios.SyncResult, error) {
	if b == nil || b.nagios == nil {
		return res, err
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil && !res.Reloaded {
		b.nagios.Checked = now
		return res, err
	}
	v := ObjectsView{Last: now, OK: err == nil, Written: res.Written, Removed: res.Removed, Reloaded: res.Reloaded,
		LastOK: b.nagios.LastOK, Checked: now}
	hasValidator := len(b.cfg.Nagios.Validate) > 0
	switch {
	case err == nil:
		v.LastOK, v.Validated = now, hasValidator
	case errors.Is(err, nagios.ErrInvalid):
	default:
		// Sync lists what it wrote only once the validator accepted it.
		v.Validated = hasValidator && len(res.Written)+len(res.Removed) > 0
	}
	if err != nil {
		v.Error = err.Error()
	}
	*b.nagios = v
	return res, err
}

// status is the server's Status now.
func (b *board) status() Status {
	now := b.now()
	var reg *autoreg.Registry
	b.mu.Lock()
	st := Status{Version: b.cfg.Version, PID: os.Getpid(), Config: b.cfg.File, Started: b.started,
		Listeners: slices.Clone(b.listeners)}
	if r := b.recv; r != nil {
		st.NSCA = r.view(now)
	}
	if b.nagios != nil {
		v := *b.nagios
		st.Nagios = &v
	}
	if b.icinga != nil {
		v := *b.icinga
		st.Icinga2 = &v
	}
	reg = b.registry
	b.mu.Unlock()
	if reg != nil {
		st.Hosts = hostsView(reg.List())
	}
	return st
}

// view is the receiver's NSCAView; the caller holds board.mu.
func (r *receiverStats) view(now time.Time) *NSCAView {
	s, q := r.srv.Stats(), r.queue.Stats()
	_, dropped := r.drops.recent(now)
	return &NSCAView{
		Received: s.Packets, Legacy: s.LegacyPackets, Connections: s.Connections,
		Rate1m: r.rate.rate(now, s.Packets, time.Minute), Rate5m: r.rate.rate(now, s.Packets, 5*time.Minute),
		Written: q.Written, Queued: q.Pending, WriteErrors: q.Errors,
		Rejected: Rejected{BadVersion: s.BadVersion, BadCRC: s.BadCRC, Stale: s.Stale, Short: s.ShortPackets,
			Handshake: s.HandshakeFails, RefusedConnections: s.Refused,
			RefusedPerSource: s.RefusedPerSource, CommandFileDropped: dropped},
	}
}

func hostsView(entries []autoreg.Entry) *HostsView {
	v := &HostsView{Count: len(entries), List: []HostView{}}
	for _, e := range entries {
		h := HostView{Host: e.Host, Profile: e.Profile, Registered: e.Registered, LastSeen: e.LastSeen, LastError: e.LastError}
		if len(e.Facts.Addresses) > 0 {
			h.Address = e.Facts.Addresses[0]
		}
		v.List = append(v.List, h)
	}
	return v
}

// serveControl opens the control channel and returns what serves it. A
// channel that cannot be opened is logged, not fatal: the server serves
// Nagios without it.
func (b *board) serveControl(ctx context.Context, logger *slog.Logger) []func(context.Context) error {
	path := ControlPath(b.cfg)
	ln, err := control.Listen(path)
	if err != nil {
		b.setListener("control", path, ListenerError, err)
		logger.Warn("control channel not opened: picket server status will not reach this server (set state_dir or control_socket)", "err", err)
		return nil
	}
	b.setListener("control", path, ListenerUp, nil)
	logger.Debug("control channel open", "path", path)
	return []func(context.Context) error{func(ctx context.Context) error {
		if err := control.Serve(ctx, ln, b.handler(), logger.With("component", "control")); err != nil {
			b.setListener("control", path, ListenerError, err)
			logger.Error("control channel stopped", "err", err)
		}
		return nil
	}}
}

// handler is the server's side of the control channel.
func (b *board) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		control.WriteJSON(w, b.status())
	})
	return mux
}

// sample is the receiver's packet count at a time.
type sample struct {
	at time.Time
	n  uint64
}

// rateKeep is the longest window a rate is asked for.
const rateKeep = 5 * time.Minute

// rateWindow holds samples of a counter, oldest first, reaching back
// rateKeep (and one sample beyond).
type rateWindow struct{ s []sample }

func (w *rateWindow) add(at time.Time, n uint64) {
	w.s = append(w.s, sample{at, n})
	for len(w.s) > 2 && at.Sub(w.s[1].at) >= rateKeep {
		w.s = slices.Delete(w.s, 0, 1)
	}
}

// rate is the counter's increase a minute, from the newest sample at
// least over before now (the oldest one while none is that old) to n,
// its value now.
func (w *rateWindow) rate(now time.Time, n uint64, over time.Duration) Rate {
	if len(w.s) == 0 {
		return Rate{Over: "0s"}
	}
	base := w.s[0]
	for _, s := range w.s[1:] {
		if now.Sub(s.at) < over {
			break
		}
		base = s
	}
	el := now.Sub(base.at)
	r := Rate{Over: el.Round(time.Second).String()}
	if el > 0 && n >= base.n {
		r.PerMinute = float64(n-base.n) / el.Minutes()
	}
	return r
}
