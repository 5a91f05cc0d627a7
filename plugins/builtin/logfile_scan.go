package builtin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// logScan is one run of a logfile check: it follows every file the state
// knows (by identity, across renames and truncation), adopts new files
// that match the patterns, reads what was added and counts the matches.
type logScan struct {
	c       *logfileCheck
	fs      logFiles
	now     time.Time
	old     *logState
	next    *logState
	budget  int64 // bytes this run may still read
	globbed []string
	inGlob  map[string]bool
	claimed map[string]bool // paths followed in next
	ids     map[fileID]bool // identities followed in next
	cands   []candidate     // files that may be a rotated one; nil until needed
	looked  bool            // cands was filled
	tally   tally
	text    []byte // decoding buffer
	notes   []string
	errs    []string // files that could not be read
	more    bool     // budget ran out: more follows next run
}

// candidate is a file that may hold a followed file under a rotated name.
type candidate struct {
	path string
	meta logMeta
}

func newLogScan(c *logfileCheck, files logFiles, now time.Time) *logScan {
	if c.buf == nil {
		c.buf = make([]byte, 64<<10)
	}
	return &logScan{
		c: c, fs: files, now: now, budget: c.maxRead,
		inGlob: map[string]bool{}, claimed: map[string]bool{}, ids: map[fileID]bool{},
		tally: tally{m: &c.match, keep: c.lastLines},
	}
}

// run works out the next state from old; only the context's end is an
// error, after which nothing read counts. A file that cannot be read is
// reported and keeps its old position.
func (s *logScan) run(ctx context.Context, old *logState) (*logState, error) {
	s.old, s.next = old, &logState{}
	for _, p := range s.c.patterns {
		matches, err := s.fs.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		for _, m := range matches {
			if !s.inGlob[m] {
				s.inGlob[m] = true
				s.globbed = append(s.globbed, m)
			}
		}
	}
	slices.Sort(s.globbed)
	for _, t := range old.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.follow(ctx, t); err != nil {
			return nil, err
		}
	}
	for _, p := range s.globbed {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !s.claimed[p] {
			if err := s.adopt(ctx, p); err != nil {
				return nil, err
			}
		}
	}
	return s.next, nil
}

func (s *logScan) keep(t trackedFile) {
	s.next.Files = append(s.next.Files, t)
	s.claimed[t.Path] = true
	if t.ID != (fileID{}) {
		s.ids[t.ID] = true
	}
}

func (s *logScan) note(format string, args ...any) {
	if len(s.notes) < 20 {
		s.notes = append(s.notes, fmt.Sprintf(format, args...))
	}
}

func (s *logScan) problem(path string, err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is said once
	}
	s.errs = append(s.errs, fmt.Sprintf("cannot read %s: %v", path, err))
}

// follow carries one followed file into this run: unchanged, grown,
// truncated, renamed, or gone.
func (s *logScan) follow(ctx context.Context, t trackedFile) error {
	m, err := s.fs.logStat(t.Path)
	if err == nil && m.ID == t.ID && m.Size == t.Size && m.MTime == t.MTime && !s.partialDue(t) {
		s.keep(t) // the every-second case: one stat, nothing read
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.problem(t.Path, err)
		s.keep(t)
		return nil
	}
	if err == nil && m.ID == t.ID {
		done, err := s.reopen(ctx, t)
		if done || err != nil {
			return err
		}
	}
	// The path is gone or holds another file: look for this one by its
	// identity under the names rotation gives.
	if f, m, head, p, ok := s.findMoved(t); ok {
		defer f.Close()
		if p != t.Path && !t.Rotated {
			s.note("%s was rotated to %s: read its rest", t.Path, p)
		}
		t.Path, t.Rotated = p, !s.inGlob[p]
		return s.read(ctx, f, m, head, t, false)
	}
	if !t.Rotated {
		s.note("%s was replaced or removed and is not found under a rotated name (compressed?): lines written to it after the last run, if any, were not read", t.Path)
	}
	return nil
}

// reopen reads t's file at its own path when it still has t's identity:
// on from where it was read if its content is t's, else (truncated in
// place, as copytruncate does, or its identity reused by a new file) from
// its start, after the rest of its copy. done is false when the path
// turned out to hold another file by the time it was opened.
func (s *logScan) reopen(ctx context.Context, t trackedFile) (done bool, err error) {
	f, m, err := s.fs.openLog(t.Path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && m.ID != t.ID {
		if f != nil {
			f.Close()
		}
		return false, nil // renamed since the stat a moment ago
	}
	if err != nil {
		s.problem(t.Path, err)
		s.keep(t)
		return true, nil
	}
	defer f.Close()
	head, err := readHead(f, m.Size, nil)
	if err != nil {
		s.problem(t.Path, err)
		s.keep(t)
		return true, nil
	}
	if t.sameContent(f, m, head) {
		return true, s.read(ctx, f, m, head, t, false)
	}
	if err := s.recoverCopy(ctx, t); err != nil {
		return true, err
	}
	return true, s.read(ctx, f, m, head, trackedFile{Path: t.Path, Rotated: t.Rotated}, false)
}

// partialDue says whether an unfinished last line has waited its time.
func (s *logScan) partialDue(t trackedFile) bool {
	return t.PartialSince != 0 && s.now.Sub(time.Unix(0, t.PartialSince)) >= s.c.partialWait
}

// findMoved finds t under another name: the same identity and the same
// content up to where it was read.
func (s *logScan) findMoved(t trackedFile) (logReader, logMeta, []byte, string, bool) {
	for _, c := range s.candidates() {
		if c.path == t.Path || c.meta.ID != t.ID || c.meta.Size < t.Offset || s.claimed[c.path] {
			continue
		}
		if f, m, head, ok := s.openSame(c.path, t, true); ok {
			return f, m, head, c.path, true
		}
	}
	return nil, logMeta{}, nil, "", false
}

// openSame opens path when it holds t's content (and, with sameID, its
// identity).
func (s *logScan) openSame(path string, t trackedFile, sameID bool) (logReader, logMeta, []byte, bool) {
	f, m, err := s.fs.openLog(path)
	if err != nil {
		return nil, m, nil, false
	}
	head, err := readHead(f, m.Size, nil)
	if err != nil || sameID && m.ID != t.ID || !t.sameContent(f, m, head) {
		f.Close()
		return nil, m, nil, false
	}
	return f, m, head, true
}

// recoverCopy reads what t had gained since the last run from its copy,
// when t was truncated in place: copytruncate copies the file to a
// rotated name and then truncates it, so the lines written between the
// last run and the copy are in the copy only.
func (s *logScan) recoverCopy(ctx context.Context, t trackedFile) error {
	if t.Offset == 0 {
		s.note("%s was truncated: read from its start", t.Path)
		return nil
	}
	for _, c := range s.candidates() {
		if c.path == t.Path || c.meta.ID == t.ID && t.ID != (fileID{}) || c.meta.Size < t.Offset {
			continue
		}
		f, m, head, ok := s.openSame(c.path, t, false)
		if !ok {
			continue
		}
		ct := t
		ct.Path, ct.Rotated, ct.PartialEnd, ct.PartialSince = c.path, false, 0, 0
		kept := len(s.next.Files)
		err := s.read(ctx, f, m, head, ct, true)
		f.Close()
		// A copy outside the patterns does not grow: it is not followed.
		// One the patterns match stays followed at its end, unless an
		// entry of its own follows it already.
		if !s.inGlob[c.path] || slices.ContainsFunc(s.old.Files, func(o trackedFile) bool { return o.Path == c.path }) {
			s.next.Files = s.next.Files[:kept]
			delete(s.claimed, c.path)
			delete(s.ids, m.ID)
		}
		s.note("%s was truncated: read the rest of its copy %s from byte %d, then it from its start", t.Path, c.path, t.Offset)
		return err
	}
	s.note("%s was truncated and no copy of it was found: read from its start; lines written to it between the last run and the truncation, if any, were not read", t.Path)
	return nil
}

// adopt starts following a file that matches the patterns.
func (s *logScan) adopt(ctx context.Context, path string) error {
	f, m, err := s.fs.openLog(path)
	switch {
	case errors.Is(err, errNotRegular) || errors.Is(err, fs.ErrNotExist):
		return nil // a folder the glob matched, or gone since
	case err != nil:
		s.problem(path, err)
		return nil
	}
	defer f.Close()
	if m.ID != (fileID{}) && s.ids[m.ID] {
		return nil // followed already under another name
	}
	head, err := readHead(f, m.Size, nil)
	if err != nil {
		s.problem(path, err)
		return nil
	}
	t := trackedFile{Path: path}
	if s.old.fresh && !s.c.eatAll {
		return s.skipToEnd(f, m, head, t)
	}
	for _, o := range s.old.Files {
		if o.Offset > 0 && o.ID != m.ID && o.sameContent(f, m, head) {
			// A copy of a followed file: its lines are read from the
			// original (or from this copy once the original is truncated).
			s.note("%s holds a copy of %s: followed from its end", path, o.Path)
			return s.skipToEnd(f, m, head, t)
		}
	}
	return s.read(ctx, f, m, head, t, false)
}

// skipToEnd follows a file from its end; an unfinished last line there is
// skipped up to its newline.
func (s *logScan) skipToEnd(f logReader, m logMeta, head []byte, t trackedFile) error {
	cd := s.c.enc.codecFor(head)
	unit := int64(1)
	if cd.wide {
		unit = 2
	}
	t.Offset = m.Size - m.Size%unit
	if t.Offset > 0 {
		last, err := readFull(f, t.Offset-unit, int(unit), nil)
		if err != nil {
			s.problem(t.Path, err)
			return nil
		}
		nl := &splitter{wide: cd.wide, big: cd.big}
		t.Skip = len(last) != int(unit) || nl.newline(last) != 0
	}
	if err := t.stamp(f, m, head); err != nil {
		s.problem(t.Path, err)
		return nil
	}
	s.keep(t)
	return nil
}

// read reads f (t's file, described by m, starting with head) from
// t.Offset to its end or to the run's byte budget, counts the lines, and
// follows t on with its new position. final reads an unfinished last line
// at once: the file will not grow (a copy).
func (s *logScan) read(ctx context.Context, f logReader, m logMeta, head []byte, t trackedFile, final bool) error {
	cd := s.c.enc.codecFor(head)
	if t.Offset > m.Size {
		t.Offset, t.Skip = 0, false
	}
	sp := newSplitter(cd, s.c.maxLine, t.Offset, t.Skip)
	emit := func(l rawLine) {
		s.text = cd.text(l, s.text)
		s.tally.add(t.Path, s.text)
	}
	buf := s.c.buf
	var rerr error
	atEnd := false
	for s.budget > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := f.ReadAt(buf[:min(int64(len(buf)), s.budget)], sp.pos)
		sp.feed(buf[:n], emit)
		s.budget -= int64(n)
		if errors.Is(err, io.EOF) || err == nil && n == 0 {
			atEnd = true
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	if !atEnd && rerr == nil {
		s.more = true
	}
	if atEnd && sp.pending() {
		s.partial(&t, sp, emit, final)
	} else {
		t.PartialEnd, t.PartialSince = 0, 0
	}
	t.Offset, t.Skip = sp.consumed(), sp.skipping
	if err := t.stamp(f, m, head); err != nil && rerr == nil {
		rerr = err
	}
	if !atEnd || rerr != nil {
		t.Size = -1 // not read to its end: look again next run
	}
	s.keep(t)
	if rerr != nil {
		s.problem(t.Path, rerr)
	}
	return nil
}

// partial decides about an unfinished last line: it is read as a line once
// the file has ended there for --partialwait, or at once when final.
func (s *logScan) partial(t *trackedFile, sp *splitter, emit func(rawLine), final bool) {
	end := sp.pos
	switch {
	case final || s.c.partialWait == 0 || t.PartialEnd == end && s.partialDue(*t):
		sp.flush(emit)
		t.PartialEnd, t.PartialSince = 0, 0
	case t.PartialEnd != end || t.PartialSince == 0:
		t.PartialEnd, t.PartialSince = end, s.now.UnixNano()
	}
}

// compressedExt are the names of rotated files that cannot be read as
// text: they are never candidates.
var compressedExt = []string{".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".lzo", ".z", ".zip", ".7z", ".br", ".tgz"}

// candidates lists the files a followed file may have been rotated to:
// the patterns' matches, and the files of its folder (and each
// --archivedir) whose names begin like its own ("app" for app.log: so
// app.log.1, app.log-20240101, app.1.log, app-2024-01-01.log), less
// compressed ones. It is filled once per run, and only when a file moved
// or shrank.
func (s *logScan) candidates() []candidate {
	if s.looked {
		return s.cands
	}
	s.looked = true
	seen := map[string]bool{}
	add := func(p string) {
		lower := strings.ToLower(p)
		if seen[p] || slices.ContainsFunc(compressedExt, func(e string) bool { return strings.HasSuffix(lower, e) }) {
			return
		}
		seen[p] = true
		if m, err := s.fs.logStat(p); err == nil && m.Regular {
			s.cands = append(s.cands, candidate{path: p, meta: m})
		}
	}
	for _, p := range s.globbed {
		add(p)
	}
	stems := map[string][]string{} // folder -> name beginnings
	for _, t := range s.old.Files {
		stem := rotationStem(filepath.Base(t.Path))
		for _, d := range append([]string{filepath.Dir(t.Path)}, s.c.archiveDirs...) {
			if !slices.Contains(stems[d], stem) {
				stems[d] = append(stems[d], stem)
			}
		}
	}
	dirs := make([]string, 0, len(stems))
	for d := range stems {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	for _, d := range dirs {
		names, _ := s.fs.logDir(d) // an unreadable folder has no candidates
		slices.Sort(names)
		for _, n := range names {
			if slices.ContainsFunc(stems[d], func(st string) bool { return strings.HasPrefix(n, st) }) {
				add(filepath.Join(d, n))
			}
		}
	}
	return s.cands
}

// rotationStem is a file name up to its first dot, which rotated names
// keep: "app" for app.log and app.log.1.
func rotationStem(base string) string {
	if i := strings.IndexByte(base, '.'); i > 0 {
		return base[:i]
	}
	return base
}
