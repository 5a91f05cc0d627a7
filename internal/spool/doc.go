// Package spool is picket's durable on-disk log of opaque records, read by
// any number of named cursors: every check result is appended here before
// anything tries to send it, and each NSCA target's sender reads through
// its own cursor and commits it after sending. It knows nothing of checks.
//
// A record is durable once Append returns: it has been written and
// fdatasync'ed, with the directory when a segment file was created. Appends
// are group-committed: one goroutine writes everything waiting with one
// write call and one sync, so concurrent callers share the cost of a sync.
// Each record carries its seq, its append time and a CRC-32C; readers
// check it on every read.
//
// The spool is hand-written append-only segment files rather than a
// library; FORMAT.md ("Why hand-written segments") has the reasons and
// the figures, and compare/ the benchmark that measured them.
// tidwall/wal has no per-record checksum, refuses to open on a torn last
// record, loads whole segments into memory to read them and keeps one log
// position rather than named cursors; bbolt pays two syncs per commit,
// its file never shrinks, and reading through its mmap grows the agent's
// resident memory by the size of the backlog being drained.
//
// On disk it owns one directory: segment files named by their first seq
// (00000000000000000001.seg), one file per cursor (cursor-<hash>.pos),
// and a lock file (lock) holding the writer's pid. FORMAT.md describes
// every byte of them, and the recovery and retention rules.
//
// Open repairs what a crash leaves: a torn or corrupt tail of the newest
// segment is cut at the last good frame, a damaged frame in an older
// segment loses the rest of that segment, and every such loss of
// acknowledged records is counted as a drop with reason "corrupt". Content
// never stops Open; only I/O and permission errors do (and a segment from
// a newer format version, which it will not touch).
//
// Retention drops records older than MaxAge and the oldest whole segments
// beyond MaxBytes, counting each drop against every cursor that had not
// consumed the record; segments every cursor has consumed are deleted.
// Retention runs at Open, on Append when the size limit is reached or
// something is due to expire, and every minute. Every drop, and every loss
// found by a repair at Open, is also journalled as a Loss event (Losses),
// with the cursors it hit and when the lost records were appended, so the
// agent can report what was lost, when, and for which target.
//
// Append honours its context only while waiting: when ctx ends it returns
// ctx's error at once, and the records may still become durable. Read
// checks its context between segments. Close lets the committer finish
// what was queued, stops the spool's two goroutines (the committer and the
// minute timer) and releases the lock; nothing of the spool keeps running
// after it.
package spool
