package builtin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// logState is what a logfile check saves between runs: every file it
// follows, in the order it began to follow them (so a rotated file is
// finished before the file that replaced it).
type logState struct {
	Version int           `json:"version"`
	Spec    string        `json:"spec"` // the -f patterns it was made for
	Files   []trackedFile `json:"files"`
	// fresh marks a state never saved, or saved for other -f patterns:
	// the files already there are followed from their end.
	fresh bool
}

const logStateVersion = 1

// trackedFile is one followed file. Size and MTime are as seen before its
// last read: a file that still shows them has not changed. Head and Tail
// fingerprint its content (hashes, never the text): the first HeadLen
// bytes, and the tailMax bytes before Offset. A file with the same
// identity but other fingerprints was truncated or replaced; a file with
// another identity but the same fingerprints is a copy.
type trackedFile struct {
	Path    string `json:"path"`
	ID      fileID `json:"id"`
	Size    int64  `json:"size"`
	MTime   int64  `json:"mtime"`
	Offset  int64  `json:"offset"`
	Skip    bool   `json:"skip,omitempty"` // inside a cut line: its rest is dropped
	HeadLen int    `json:"head_len"`
	Head    string `json:"head"`
	Tail    string `json:"tail"`
	// PartialEnd and PartialSince (Unix ns) say since when the file has
	// ended at PartialEnd in an unfinished line.
	PartialEnd   int64 `json:"partial_end,omitempty"`
	PartialSince int64 `json:"partial_since,omitempty"`
	// Rotated marks a file found under a rotated name outside the -f
	// patterns: followed while it can be found, since its writer may
	// still append to it until it reopens its log.
	Rotated bool `json:"rotated,omitempty"`
}

const (
	headMax = 4 << 10
	tailMax = 256
)

// load reads the saved state; none, a damaged one or one of another
// version starts afresh.
func (c *logfileCheck) load(st StateStore) (*logState, []byte, error) {
	b, err := st.LoadState(c.name)
	if errors.Is(err, fs.ErrNotExist) {
		return &logState{fresh: true}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read positions: %w", err)
	}
	var s logState
	if json.Unmarshal(b, &s) != nil || s.Version != logStateVersion {
		return &logState{fresh: true}, nil, nil
	}
	if s.Spec != c.spec() {
		// Taken over by --tag for other files: the files it knows stay
		// followed, others start at their end.
		s.fresh = true
	}
	return &s, b, nil
}

// save writes the state when it differs from what was last saved, so an
// unchanged log costs no write.
func (c *logfileCheck) save(st StateStore, s *logState) error {
	s.Version, s.Spec = logStateVersion, c.spec()
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("save read positions: %w", err)
	}
	if bytes.Equal(b, c.saved) {
		return nil
	}
	if err := st.SaveState(c.name, b); err != nil {
		return fmt.Errorf("save read positions: %w", err)
	}
	c.saved = b
	return nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}

// readHead reads the first bytes of a file of size size, up to headMax.
func readHead(r io.ReaderAt, size int64, buf []byte) ([]byte, error) {
	return readFull(r, 0, int(min(size, headMax)), buf)
}

// readFull reads n bytes at off into buf; a file that ends sooner gives
// fewer.
func readFull(r io.ReaderAt, off int64, n int, buf []byte) ([]byte, error) {
	buf = append(buf[:0], make([]byte, n)...)
	got, err := r.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:got], nil
}

// tailAt hashes the tailMax bytes before off; a file shorter than off
// gives an error.
func tailAt(r io.ReaderAt, off int64) (string, error) {
	n := int(min(off, tailMax))
	b, err := readFull(r, off-int64(n), n, nil)
	if err != nil {
		return "", err
	}
	if len(b) < n {
		return "", io.ErrUnexpectedEOF
	}
	return sum(b), nil
}

// sameContent says whether the open file (whose first bytes are head)
// holds what t was read from: at least Offset bytes, the same first
// HeadLen bytes, the same bytes before Offset.
func (t *trackedFile) sameContent(r io.ReaderAt, m logMeta, head []byte) bool {
	if m.Size < t.Offset || len(head) < t.HeadLen || sum(head[:t.HeadLen]) != t.Head {
		return false
	}
	tail, err := tailAt(r, t.Offset)
	return err == nil && tail == t.Tail
}

// stamp records the file's identity and fingerprints after a read.
func (t *trackedFile) stamp(r io.ReaderAt, m logMeta, head []byte) error {
	t.ID, t.Size, t.MTime = m.ID, m.Size, m.MTime
	t.HeadLen, t.Head = len(head), sum(head)
	tail, err := tailAt(r, t.Offset)
	if err != nil {
		return err
	}
	t.Tail = tail
	return nil
}
