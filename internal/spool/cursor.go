package spool

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	maxCursorName    = 128
	cursorFixedSize  = 56
	cursorFilePrefix = "cursor-"
	cursorFileSuffix = ".pos"
	tmpSuffix        = ".tmp"
)

// cursor is one reader's place in the spool.
type cursor struct {
	name string
	pos  uint64 // last consumed seq
	// acc: every record at or below it has been consumed or counted as
	// dropped for this cursor, so a drop is never counted twice, even
	// when the cursor is moved back to replay.
	acc   uint64
	drops Drops
	dirty bool // in memory differs from the file
}

// validCursor keeps names to a set that is safe in file names and log
// lines everywhere.
func validCursor(name string) error {
	if len(name) == 0 || len(name) > maxCursorName {
		return fmt.Errorf("cursor name %q: must be 1 to %d characters", name, maxCursorName)
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return fmt.Errorf("cursor name %q: only letters, digits and . _ : - are allowed", name)
		}
	}
	return nil
}

// cursorFile names a cursor's file by a hash of its name rather than the
// name itself: names may differ only in case (one file on Windows and
// macOS), may contain ':' (a stream separator on NTFS) and may be "..";
// the file holds the name, so nothing is lost.
func cursorFile(name string) string {
	h := sha256.Sum256([]byte(name))
	return cursorFilePrefix + hex.EncodeToString(h[:8]) + cursorFileSuffix
}

func encodeCursor(c *cursor) []byte {
	b := make([]byte, cursorFixedSize, cursorFixedSize+len(c.name)+4)
	copy(b[0:8], cursorMagic[:])
	binary.LittleEndian.PutUint16(b[8:10], formatVersion)
	binary.LittleEndian.PutUint16(b[10:12], uint16(len(c.name)))
	binary.LittleEndian.PutUint64(b[16:24], c.pos)
	binary.LittleEndian.PutUint64(b[24:32], c.acc)
	binary.LittleEndian.PutUint64(b[32:40], c.drops.Age)
	binary.LittleEndian.PutUint64(b[40:48], c.drops.Bytes)
	binary.LittleEndian.PutUint64(b[48:56], c.drops.Corrupt)
	b = append(b, c.name...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeCursor(b []byte) (*cursor, error) {
	if len(b) < cursorFixedSize+4 || [8]byte(b[0:8]) != cursorMagic {
		return nil, errors.New("not a cursor file")
	}
	n := int(binary.LittleEndian.Uint16(b[10:12]))
	if len(b) != cursorFixedSize+n+4 {
		return nil, fmt.Errorf("%d bytes where %d were expected", len(b), cursorFixedSize+n+4)
	}
	if crc32.Checksum(b[:len(b)-4], castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, errors.New("checksum mismatch")
	}
	if v := binary.LittleEndian.Uint16(b[8:10]); v != formatVersion {
		return nil, fmt.Errorf("unknown version %d", v)
	}
	c := &cursor{
		name: string(b[cursorFixedSize : cursorFixedSize+n]),
		pos:  binary.LittleEndian.Uint64(b[16:24]),
		acc:  binary.LittleEndian.Uint64(b[24:32]),
		drops: Drops{
			Age:     binary.LittleEndian.Uint64(b[32:40]),
			Bytes:   binary.LittleEndian.Uint64(b[40:48]),
			Corrupt: binary.LittleEndian.Uint64(b[48:56]),
		},
	}
	if err := validCursor(c.name); err != nil {
		return nil, err
	}
	return c, nil
}

// writeCursor replaces the cursor's file atomically: a reader of the
// directory sees the old file or the new one, never a mix.
func (s *Spool) writeCursor(c *cursor) error {
	path := filepath.Join(s.dir, cursorFile(c.name))
	tmp := path + tmpSuffix
	err := writeSynced(tmp, encodeCursor(c))
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool %s: save cursor %q: %w", s.dir, c.name, err)
	}
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// loadCursor reads one cursor file. A damaged file is logged and ignored:
// its reader starts again from the oldest retained record, which resends
// rather than loses.
func (s *Spool) loadCursor(file string) error {
	path := filepath.Join(s.dir, file)
	b, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed by the writer since we listed it
	}
	if err != nil {
		return fmt.Errorf("open spool %s: %w", s.dir, err)
	}
	c, err := decodeCursor(b)
	if err == nil && cursorFile(c.name) != file {
		err = fmt.Errorf("holds cursor %q, whose file would be %s", c.name, cursorFile(c.name))
	}
	if err != nil {
		if !s.ro {
			s.log.Warn("spool: cursor file unreadable, ignored; its reader will start from the oldest record",
				"file", path, "err", err)
		}
		return nil
	}
	s.cursors[c.name] = c
	return nil
}

// readSmall reads a cursor file through openRead: on Windows a reader
// that did not share delete access would make the writer's rename over
// the file fail.
func readSmall(path string) ([]byte, error) {
	f, err := openRead(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, cursorFixedSize+maxCursorName+4+1))
}

// flushCursors writes every dirty cursor. Called with metaMu held, which
// keeps the writes in the order their snapshots were taken.
func (s *Spool) flushCursors() error {
	s.mu.Lock()
	var snap []cursor
	for _, c := range s.cursors {
		if c.dirty {
			snap = append(snap, *c)
			c.dirty = false
		}
	}
	s.mu.Unlock()
	var errs []error
	for i := range snap {
		if err := s.writeCursor(&snap[i]); err != nil {
			errs = append(errs, err)
			s.mu.Lock()
			if c := s.cursors[snap[i].name]; c != nil {
				c.dirty = true
			}
			s.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// cursorLocked returns the named cursor, creating it in memory if needed.
func (s *Spool) cursorLocked(name string) (*cursor, error) {
	if c := s.cursors[name]; c != nil {
		return c, nil
	}
	file := cursorFile(name)
	for _, o := range s.cursors {
		if cursorFile(o.name) == file {
			return nil, fmt.Errorf("spool %s: cursor %q would share file %s with cursor %q", s.dir, name, file, o.name)
		}
	}
	c := &cursor{name: name}
	s.cursors[name] = c
	return c, nil
}

// Position returns the last seq the cursor consumed: 0, read from the
// start, if the cursor does not exist.
func (s *Spool) Position(name string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cursors[name]; c != nil {
		return c.pos
	}
	return 0
}

// Commit records that the cursor consumed everything up to seq, creating
// the cursor if it does not exist, and returns once that is durable (the
// file is written beside the old one, synced and renamed over it). seq
// may be lower than the current position, to replay, but not higher than
// the newest record. Segments every cursor is done with are deleted.
func (s *Spool) Commit(name string, seq uint64) error {
	if err := validCursor(name); err != nil {
		return fmt.Errorf("commit in spool %s: %w", s.dir, err)
	}
	if s.ro {
		return s.readOnlyErr("commit cursor " + name)
	}
	_, err := s.moveCursor(name, func(c *cursor) (uint64, error) {
		if seq >= s.nextSeq {
			return 0, fmt.Errorf("commit cursor %q in spool %s: seq %d is past the newest record %d", name, s.dir, seq, s.nextSeq-1)
		}
		return seq, nil
	})
	return err
}

// Purge moves the cursor past the newest record, as if it had consumed
// everything, and returns how many retained records it skipped. Skipped
// records are not counted as dropped: skipping them was asked for.
func (s *Spool) Purge(name string) (uint64, error) {
	if err := validCursor(name); err != nil {
		return 0, fmt.Errorf("purge in spool %s: %w", s.dir, err)
	}
	if s.ro {
		return 0, s.readOnlyErr("purge cursor " + name)
	}
	var n uint64
	_, err := s.moveCursor(name, func(c *cursor) (uint64, error) {
		n = s.recordsInLocked(max(c.pos, s.floor), math.MaxUint64)
		return s.nextSeq - 1, nil
	})
	return n, err
}

// moveCursor sets the cursor to whatever to returns, persists it and
// collects segments no cursor needs any more.
func (s *Spool) moveCursor(name string, to func(*cursor) (uint64, error)) (uint64, error) {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	c, err := s.cursorLocked(name)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	// Count what expired before the cursor moves past it: Read skipped
	// those records, so the reader never saw them.
	s.expireLocked()
	seq, err := to(c)
	if err != nil {
		if s.cursors[name] == c && c.pos == 0 && c.acc == 0 && c.drops == (Drops{}) && !c.dirty {
			delete(s.cursors, name) // created just now; do not keep an unwanted cursor
		}
		s.mu.Unlock()
		return 0, err
	}
	c.pos = seq
	c.dirty = true
	s.mu.Unlock()
	if err := s.flushCursors(); err != nil {
		return 0, err
	}
	s.removeSegments()
	return seq, nil
}

// RemoveCursor deletes a cursor; segments kept only for it become
// collectable. Removing a cursor that does not exist is an error that
// wraps fs.ErrNotExist.
func (s *Spool) RemoveCursor(name string) error {
	if err := validCursor(name); err != nil {
		return fmt.Errorf("remove cursor in spool %s: %w", s.dir, err)
	}
	if s.ro {
		return s.readOnlyErr("remove cursor " + name)
	}
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	s.mu.Lock()
	closed, c := s.closed, s.cursors[name]
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if c == nil {
		return fmt.Errorf("remove cursor %q from spool %s: %w", name, s.dir, fs.ErrNotExist)
	}
	path := filepath.Join(s.dir, cursorFile(name))
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove cursor %q from spool %s: %w", name, s.dir, err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("remove cursor %q from spool %s: %w", name, s.dir, err)
	}
	s.mu.Lock()
	delete(s.cursors, name)
	s.mu.Unlock()
	s.removeSegments()
	return nil
}

// Cursors returns the names of the cursors, sorted.
func (s *Spool) Cursors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ro {
		s.refreshLocked()
	}
	names := make([]string, 0, len(s.cursors))
	for n := range s.cursors {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func isCursorFile(name string) bool {
	return strings.HasPrefix(name, cursorFilePrefix) && strings.HasSuffix(name, cursorFileSuffix)
}
