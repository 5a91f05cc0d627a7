package externals

import (
	"crypto/sha256"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/picket-monitoring/picket/internal/signing"
)

// served is one version of a host's file as the handler serves it, with
// what signs it.
type served struct {
	data   []byte
	mod    time.Time
	sum    [sha256.Size]byte
	stored signing.Signature // with Keys
	sig    string            // without Keys: the admin's .sig
}

// verdict is whether one version of a host's file is valid externals.
type verdict struct {
	sum [sha256.Size]byte
	err error
}

// lastValid returns what to serve for host, whose file now holds data:
// data itself, unless it is invalid and a valid version was served
// before, which is then served instead (cached true). A version is parsed
// once; an invalid one is logged once, and so is its repair.
func (h *Handler) lastValid(host string, data []byte, mod time.Time, log *slog.Logger) (served, bool) {
	sum := sha256.Sum256(data)
	h.goodMu.Lock()
	defer h.goodMu.Unlock()
	if h.verdicts == nil {
		h.verdicts, h.good = map[string]verdict{}, map[string]served{}
	}
	prev, seen := h.verdicts[host]
	v := prev
	if !seen || prev.sum != sum {
		_, err := Parse(filepath.Join(h.Dir, cacheTOML(host)), data, host)
		v = verdict{sum: sum, err: err}
		h.verdicts[host] = v
		h.logVerdict(host, v, seen && prev.err != nil, log)
	}
	if g, ok := h.good[host]; ok && v.err != nil {
		return g, true
	}
	return served{data: data, mod: mod, sum: sum}, false
}

func (h *Handler) logVerdict(host string, v verdict, wasInvalid bool, log *slog.Logger) {
	_, hadGood := h.good[host]
	switch {
	case v.err != nil && hadGood:
		log.Warn("externals: the file is invalid; its last valid version is served until it is fixed", "err", v.err)
	case v.err != nil:
		log.Warn("externals: the file is invalid and no valid version of it was served since the server started; it is served as it is, and agents refuse it", "err", v.err)
	case wasInvalid:
		log.Info("externals: the file is valid again and served", "file", filepath.Join(h.Dir, cacheTOML(host)))
	}
}

// remember keeps s as host's last valid version, if it is the version
// found valid.
func (h *Handler) remember(host string, s served) {
	h.goodMu.Lock()
	defer h.goodMu.Unlock()
	if v, ok := h.verdicts[host]; ok && v.sum == s.sum && v.err == nil {
		h.good[host] = s
	}
}
