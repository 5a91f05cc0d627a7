package autoreg

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/picket-monitoring/picket/internal/signing"
)

// Binding ties a host name to the key of the agent that registered it.
type Binding struct {
	Host string `json:"host"`
	// Key is the agent's public key, "ed25519:<base64>".
	Key         string    `json:"key"`
	Fingerprint string    `json:"fingerprint"`
	Since       time.Time `json:"since"`
	// Token is the name of the enrollment token the binding was made
	// with.
	Token string `json:"token,omitempty"`
	// RekeyRequested, when set, lets the next registration with a valid
	// token bind a new key (`picket server hosts rekey`); until then the
	// bound key keeps working.
	RekeyRequested time.Time `json:"rekey_requested,omitzero"`
	// Previous is the fingerprint of the key a rekey replaced.
	Previous string `json:"previous,omitempty"`

	pub ed25519.PublicKey
}

// PublicKey is the bound key.
func (b Binding) PublicKey() ed25519.PublicKey { return b.pub }

// ErrNotBound is a host without a binding.
var ErrNotBound = errors.New("no key is bound to this host")

// identitiesVersion is the file's format; a newer one is refused rather
// than rewritten without what this version does not know.
const identitiesVersion = 1

type identitiesFile struct {
	Version int       `json:"version"`
	Hosts   []Binding `json:"hosts"`
	// Legacy are the hosts registered before identities existed: their
	// agents may register without a key until one is bound.
	Legacy []string `json:"legacy,omitempty"`
}

// Identities is the server's record of which key each host name belongs
// to, kept in identities.json in the server's state_dir. picket server
// and the administrator's commands both change it, each change a
// read-modify-write under a lock file; the server notices a change made
// by another process within a second. It is safe for concurrent use.
type Identities struct {
	path string
	now  func() time.Time

	mu        sync.Mutex
	hosts     map[string]Binding
	legacy    map[string]bool
	stat      os.FileInfo
	lastCheck time.Time
	err       error // why the last re-read failed; bindings stay as they were
}

// recheckIdentities bounds how often the file is looked at for changes
// made by another process.
const recheckIdentities = time.Second

// OpenIdentities opens the identities file at path. When there is none
// yet (a fresh server, or one upgraded from before identities), it is
// created with every host registered lists (the registry's) marked
// legacy: those keep working as they did and are bound at their next
// registration.
func OpenIdentities(ctx context.Context, path string, registered []string) (*Identities, error) {
	i := &Identities{path: path, now: time.Now}
	err := i.update(ctx, func(f *identitiesFile, created bool) (bool, error) {
		if !created {
			return false, nil
		}
		f.Legacy = slices.Clone(registered)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return i, nil
}

// Get returns host's binding.
func (i *Identities) Get(host string) (Binding, bool) {
	i.reloadIfChanged()
	i.mu.Lock()
	defer i.mu.Unlock()
	b, ok := i.hosts[host]
	return b, ok
}

// Legacy reports whether host was registered before identities and has
// not been bound since.
func (i *Identities) Legacy(host string) bool {
	i.reloadIfChanged()
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.legacy[host]
}

// List returns every binding, sorted by host.
func (i *Identities) List() []Binding {
	i.reloadIfChanged()
	i.mu.Lock()
	defer i.mu.Unlock()
	out := make([]Binding, 0, len(i.hosts))
	for _, b := range i.hosts {
		out = append(out, b)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Host < out[b].Host })
	return out
}

// Bind binds host to pub, enrolled with token (its name), replacing a
// binding a rekey was requested for. It refuses to replace any other
// binding: that takes Forget or Rekey first.
func (i *Identities) Bind(ctx context.Context, host string, pub ed25519.PublicKey, token string) (Binding, error) {
	var out Binding
	err := i.update(ctx, func(f *identitiesFile, _ bool) (bool, error) {
		n := slices.IndexFunc(f.Hosts, func(b Binding) bool { return b.Host == host })
		b := Binding{Host: host, Key: signing.FormatPublicKey(pub), Fingerprint: signing.Fingerprint(pub),
			Since: i.now().UTC(), Token: token, pub: pub}
		switch {
		case n < 0:
			f.Hosts = append(f.Hosts, b)
		case f.Hosts[n].pub.Equal(pub):
			out = f.Hosts[n]
			return false, nil
		case f.Hosts[n].RekeyRequested.IsZero():
			return false, fmt.Errorf("bind %s: already bound to key %s", host, f.Hosts[n].Fingerprint)
		default:
			b.Previous = f.Hosts[n].Fingerprint
			f.Hosts[n] = b
		}
		f.Legacy = slices.DeleteFunc(f.Legacy, func(h string) bool { return h == host })
		out = b
		return true, nil
	})
	return out, err
}

// Forget releases host: its key no longer speaks for it, and its next
// registration with a valid token binds whatever key comes. It returns
// the binding it removed (ErrNotBound when there was none).
func (i *Identities) Forget(ctx context.Context, host string) (Binding, error) {
	var out Binding
	err := i.update(ctx, func(f *identitiesFile, _ bool) (bool, error) {
		n := slices.IndexFunc(f.Hosts, func(b Binding) bool { return b.Host == host })
		wasLegacy := slices.Contains(f.Legacy, host)
		f.Legacy = slices.DeleteFunc(f.Legacy, func(h string) bool { return h == host })
		if n < 0 {
			if wasLegacy {
				return true, nil
			}
			return false, fmt.Errorf("forget %s: %w", host, ErrNotBound)
		}
		out = f.Hosts[n]
		f.Hosts = slices.Delete(f.Hosts, n, n+1)
		return true, nil
	})
	return out, err
}

// Rekey lets host's next registration with a valid token bind a new key;
// the bound key keeps working until then.
func (i *Identities) Rekey(ctx context.Context, host string) (Binding, error) {
	var out Binding
	err := i.update(ctx, func(f *identitiesFile, _ bool) (bool, error) {
		n := slices.IndexFunc(f.Hosts, func(b Binding) bool { return b.Host == host })
		if n < 0 {
			return false, fmt.Errorf("rekey %s: %w (its next registration with a valid token binds a key anyway)", host, ErrNotBound)
		}
		f.Hosts[n].RekeyRequested = i.now().UTC()
		out = f.Hosts[n]
		return true, nil
	})
	return out, err
}

// update runs change on the file's current content under the lock, and
// writes the result when change says it changed anything. created tells
// change that there was no file yet.
func (i *Identities) update(ctx context.Context, change func(f *identitiesFile, created bool) (bool, error)) error {
	unlock, err := lockFile(ctx, i.path+".lock")
	if err != nil {
		return fmt.Errorf("identities: %w", err)
	}
	defer unlock()
	f, st, err := readIdentities(i.path)
	created := errors.Is(err, fs.ErrNotExist)
	if err != nil && !created {
		return err
	}
	changed, err := change(f, created)
	if err != nil {
		return err
	}
	if changed || created {
		f.Version = identitiesVersion
		sort.Slice(f.Hosts, func(a, b int) bool { return f.Hosts[a].Host < f.Hosts[b].Host })
		sort.Strings(f.Legacy)
		data, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			return fmt.Errorf("identities: %w", err)
		}
		if err := saveFile(i.path, append(data, '\n')); err != nil {
			return fmt.Errorf("identities: %w", err)
		}
		if st, err = os.Stat(i.path); err != nil {
			return fmt.Errorf("identities: %w", err)
		}
	}
	i.set(f, st)
	return nil
}

func (i *Identities) set(f *identitiesFile, st os.FileInfo) {
	hosts := make(map[string]Binding, len(f.Hosts))
	for _, b := range f.Hosts {
		hosts[b.Host] = b
	}
	legacy := make(map[string]bool, len(f.Legacy))
	for _, h := range f.Legacy {
		legacy[h] = true
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.hosts, i.legacy, i.stat, i.lastCheck, i.err = hosts, legacy, st, i.now(), nil
}

// reloadIfChanged reads the file again when another process changed it,
// at most once per recheckIdentities. A file that cannot be read keeps
// the bindings known (a refusal of the bound agents would be worse) and
// is reported by Err.
func (i *Identities) reloadIfChanged() {
	i.mu.Lock()
	now := i.now()
	if now.Sub(i.lastCheck) < recheckIdentities && now.After(i.lastCheck) {
		i.mu.Unlock()
		return
	}
	i.lastCheck = now
	old := i.stat
	i.mu.Unlock()
	st, err := os.Stat(i.path)
	if err == nil && old != nil && os.SameFile(st, old) && st.Size() == old.Size() && st.ModTime().Equal(old.ModTime()) {
		return
	}
	f, st, err := readIdentities(i.path)
	if err != nil {
		i.mu.Lock()
		i.err = err
		i.mu.Unlock()
		return
	}
	i.set(f, st)
}

// Err is why the file could not be read again after it changed.
func (i *Identities) Err() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.err
}

func readIdentities(path string) (*identitiesFile, os.FileInfo, error) {
	f := &identitiesFile{}
	data, err := os.ReadFile(path)
	if err != nil {
		return f, nil, fmt.Errorf("identities: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return f, nil, fmt.Errorf("identities: %w", err)
	}
	if err := json.Unmarshal(data, f); err != nil {
		return f, nil, fmt.Errorf("identities %s: %w", path, err)
	}
	if f.Version > identitiesVersion {
		return f, nil, fmt.Errorf("identities %s: format version %d is newer than this server's (%d)", path, f.Version, identitiesVersion)
	}
	for n := range f.Hosts {
		b := &f.Hosts[n]
		if !ValidHost(b.Host) {
			return f, nil, fmt.Errorf("identities %s: invalid host name %q", path, b.Host)
		}
		pub, err := signing.ParsePublicKey(b.Key)
		if err != nil {
			return f, nil, fmt.Errorf("identities %s: host %s: %w", path, b.Host, err)
		}
		b.pub, b.Fingerprint = pub, signing.Fingerprint(pub)
	}
	return f, st, nil
}
