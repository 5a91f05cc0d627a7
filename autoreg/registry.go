package autoreg

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"sync"
	"time"
)

// Entry is the server's record of one registered host.
type Entry struct {
	Host    string `json:"host"`
	Profile string `json:"profile"`
	// FirstSeen is the first registration, LastSeen the last contact
	// (registration or externals fetch), Registered the last
	// registration.
	FirstSeen  time.Time `json:"first_seen,omitzero"`
	LastSeen   time.Time `json:"last_seen,omitzero"`
	Registered time.Time `json:"registered,omitzero"`
	Remote     string    `json:"remote,omitempty"` // IP of the last contact
	Facts      Request   `json:"facts"`
	// RenderedSHA256 is the hex digest of what the server last wrote to
	// the host's externals file. A file with another digest was edited
	// by someone else and is left alone.
	RenderedSHA256 string `json:"rendered_sha256,omitempty"`
	LastError      string `json:"last_error,omitempty"`
	// TokenProfile is the profile the host's enrollment token named: it
	// is the host's profile whatever the rules say. Empty: the rules.
	TokenProfile string `json:"token_profile,omitempty"`
}

// ErrUnknownHost is returned for a host the registry has no entry for.
var ErrUnknownHost = errors.New("host not registered")

// registryVersion is the file's format; a newer one is refused rather than
// rewritten without the fields this version does not know.
const registryVersion = 1

type registryFile struct {
	Version int     `json:"version"`
	Hosts   []Entry `json:"hosts"`
}

// Registry is the server's record of agents, kept in one JSON file. It is
// safe for concurrent use.
type Registry struct {
	path string

	// wmu orders writes of the file, so a slow write never replaces a
	// newer snapshot; mu guards the map and is never held during I/O.
	wmu   sync.Mutex
	mu    sync.Mutex
	hosts map[string]Entry
	dirty bool
}

// OpenRegistry loads the registry at path; a missing file is an empty
// registry (a fresh server), an unreadable or corrupt one an error, since
// starting empty would forget which externals files the server wrote.
func OpenRegistry(path string) (*Registry, error) {
	r := &Registry{path: path, hosts: map[string]Entry{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	var f registryFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("registry %s: %w", path, err)
	}
	if f.Version > registryVersion {
		return nil, fmt.Errorf("registry %s: format version %d is newer than this server's (%d)", path, f.Version, registryVersion)
	}
	for _, e := range f.Hosts {
		if !ValidHost(e.Host) {
			return nil, fmt.Errorf("registry %s: invalid host name %q", path, e.Host)
		}
		r.hosts[e.Host] = e
	}
	return r, nil
}

// Get returns host's entry.
func (r *Registry) Get(host string) (Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.hosts[host]
	return cloneEntry(e), ok
}

// List returns every entry, sorted by host.
func (r *Registry) List() []Entry {
	r.mu.Lock()
	out := make([]Entry, 0, len(r.hosts))
	for _, e := range r.hosts {
		out = append(out, cloneEntry(e))
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

// Put records e and writes the file before returning: a registration is
// answered only once its record is durable.
func (r *Registry) Put(e Entry) error {
	if !ValidHost(e.Host) {
		return fmt.Errorf("registry: invalid host name %q", e.Host)
	}
	r.mu.Lock()
	r.hosts[e.Host] = cloneEntry(e)
	r.dirty = true
	r.mu.Unlock()
	return r.Flush()
}

// Seen notes a contact from host (an externals fetch). It only marks the
// registry dirty: thousands of agents polling must not mean thousands of
// file writes; Flush writes it later. Unknown hosts are ignored, since
// hand-made externals files have no registration behind them.
func (r *Registry) Seen(host, remote string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.hosts[host]
	if !ok {
		return
	}
	if at.After(e.LastSeen) {
		e.LastSeen = at
	}
	if remote != "" {
		e.Remote = remote
	}
	r.hosts[host] = e
	r.dirty = true
}

// SetError records why host's last registration or rendering failed, and
// writes the file. An empty msg clears it.
func (r *Registry) SetError(host, msg string) error {
	r.mu.Lock()
	e, ok := r.hosts[host]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("registry: %w: %q", ErrUnknownHost, host)
	}
	e.LastError = msg
	r.hosts[host] = e
	r.dirty = true
	r.mu.Unlock()
	return r.Flush()
}

// Flush writes the file if anything changed since the last write.
func (r *Registry) Flush() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	if !r.dirty {
		r.mu.Unlock()
		return nil
	}
	f := registryFile{Version: registryVersion, Hosts: make([]Entry, 0, len(r.hosts))}
	for _, e := range r.hosts {
		f.Hosts = append(f.Hosts, e)
	}
	r.dirty = false
	r.mu.Unlock()
	// Entries are never changed in place (their slices are copied on
	// Put), so the snapshot can be encoded without the lock.
	sort.Slice(f.Hosts, func(i, j int) bool { return f.Hosts[i].Host < f.Hosts[j].Host })
	data, err := json.MarshalIndent(f, "", "  ")
	if err == nil {
		err = saveFile(r.path, append(data, '\n'))
	}
	if err != nil {
		r.mu.Lock()
		r.dirty = true
		r.mu.Unlock()
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

func cloneEntry(e Entry) Entry {
	f := &e.Facts
	f.Addresses = slices.Clone(f.Addresses)
	f.MACs = slices.Clone(f.MACs)
	f.Metadata = slices.Clone(f.Metadata)
	f.Plugins = slices.Clone(f.Plugins)
	f.Services = slices.Clone(f.Services)
	return e
}
