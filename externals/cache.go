package externals

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/picket-monitoring/picket/internal/signing"
)

// Meta is what the cache knows about a stored file besides its content.
type Meta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// SHA256 is the hex digest of the file; it also ties the set of
	// cache files together, so a torn set is detected.
	SHA256 string `json:"sha256"`
	// Signed is whether the file's signature was verified when it was
	// fetched (a public key was configured).
	Signed bool `json:"signed"`
	// Serial is the highest signature serial accepted for this host: a
	// file signed with a lower one is refused as a replay. Key is the
	// fingerprint of the key that verified it, Next the key the server
	// announced it is rotating to ("" when it is not).
	Serial    uint64    `json:"serial,omitempty"`
	Key       string    `json:"key,omitempty"`
	Next      string    `json:"next,omitempty"`
	FetchedAt time.Time `json:"fetched_at"`
	// CheckedAt is the last time the server confirmed the file is
	// current (200 with the same content, or 304): the age that counts
	// against max_stale.
	CheckedAt time.Time `json:"checked_at"`
}

// Snapshot is one host's externals as last accepted.
type Snapshot struct {
	Host string
	Data []byte
	File *File
	Meta Meta
}

// Version names the content briefly for logs and health output: the
// first 12 hex digits of its SHA-256, as short git hashes are read.
func (s *Snapshot) Version() string {
	if len(s.Meta.SHA256) < 12 {
		return s.Meta.SHA256
	}
	return s.Meta.SHA256[:12]
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Names of a host's cache files. ValidHost keeps them inside the cache
// directory, and the suffixes keep two hosts' sets from overlapping.
func cacheTOML(host string) string { return host + ".toml" }
func cacheSig(host string) string  { return host + ".toml.sig" }
func cacheMeta(host string) string { return host + ".meta.json" }

// cacheMode: [macros] may hold passwords.
const cacheMode = 0o600

// load reads and re-checks a host's cached set. The caller holds p.mu.
func (p *Puller) load(host string) (*Snapshot, error) {
	metaPath := filepath.Join(p.dir, cacheMeta(host))
	mb, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, fmt.Errorf("last known good externals of %s: %w", host, err)
	}
	var meta Meta
	if err := json.Unmarshal(mb, &meta); err != nil {
		return nil, fmt.Errorf("last known good externals of %s: %s: %v", host, metaPath, err)
	}
	tomlPath := filepath.Join(p.dir, cacheTOML(host))
	data, err := os.ReadFile(tomlPath)
	if err != nil {
		return nil, fmt.Errorf("last known good externals of %s: %w", host, err)
	}
	if got := sha256Hex(data); got != meta.SHA256 {
		return nil, fmt.Errorf("last known good externals of %s: %s has SHA-256 %.12s, %s says %.12s (interrupted update?)", host, tomlPath, got, metaPath, meta.SHA256)
	}
	if len(p.keys) > 0 {
		sigPath := filepath.Join(p.dir, cacheSig(host))
		sig, err := os.ReadFile(sigPath)
		if err != nil {
			// %v, not %w: a file exists, it is just not acceptable, and
			// must not read as "no externals yet".
			return nil, fmt.Errorf("last known good externals of %s: a signature is required and %s cannot be read: %v", host, sigPath, err)
		}
		if err := verifyCached(p.keys, host, data, sig); err != nil {
			return nil, fmt.Errorf("last known good externals of %s: %s: %w", host, tomlPath, err)
		}
	}
	f, err := Parse(tomlPath, data, host)
	if err != nil {
		return nil, fmt.Errorf("last known good externals of %s no longer valid: %w", host, err)
	}
	return &Snapshot{Host: host, Data: data, File: f, Meta: meta}, nil
}

// verifyCached checks the signature of the agent's own cache. A v1
// signature is accepted here, never from the network: the cache is the
// agent's, written only after the file passed every check when it came,
// so nothing older can be slipped into it (an agent upgraded to v2 keeps
// running its cached file until the server's v2 signature replaces it).
func verifyCached(keys []ed25519.PublicKey, host string, data, sigText []byte) error {
	sig, err := signing.ParseSignature(sigText)
	if err == nil {
		_, err = sig.Verify(keys, host, data)
		return err
	}
	if !errors.Is(err, signing.ErrV1) {
		return err
	}
	for _, k := range keys {
		if err = signing.VerifyV1(k, host, data, sigText); err == nil {
			return nil
		}
	}
	return err
}

// store publishes a new set for host: content, signature (nil when none
// was checked) and meta, the meta last since it vouches for the others.
// Nothing is renamed before everything is safely on disk.
func (p *Puller) store(s *Snapshot, sig []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	names := []string{cacheTOML(s.Host), cacheSig(s.Host), cacheMeta(s.Host)}
	for _, n := range names {
		removeStale(p.dir, n)
	}
	mb, err := json.MarshalIndent(s.Meta, "", "  ")
	if err != nil {
		return err
	}
	var files []staged
	add := func(name string, data []byte) error {
		st, err := stage(p.dir, name, data, cacheMode)
		if err != nil {
			discard(files)
			return err
		}
		files = append(files, st)
		return nil
	}
	if err := add(names[0], s.Data); err != nil {
		return err
	}
	if sig != nil {
		if err := add(names[1], append(bytes.TrimSpace(sig), '\n')); err != nil {
			return err
		}
	}
	if err := add(names[2], append(mb, '\n')); err != nil {
		return err
	}
	if err := publish(p.dir, files); err != nil {
		return err
	}
	if sig == nil {
		// A signature left from an earlier, signed version would only
		// mislead whoever looks into the cache.
		os.Remove(filepath.Join(p.dir, names[1]))
	}
	return nil
}

// storeMeta replaces only the meta of a host's set, whose content stays.
func (p *Puller) storeMeta(host string, meta Meta) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	removeStale(p.dir, cacheMeta(host))
	mb, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(p.dir, cacheMeta(host), append(mb, '\n'), cacheMode)
}
