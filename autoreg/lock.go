package autoreg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// errLockBusy is a lock another process holds right now.
var errLockBusy = errors.New("lock held by another process")

// lockFile takes an exclusive lock on path (created if missing), waiting
// until it is free or ctx ends. picket server and the administrator's
// commands (`picket server hosts forget`) both change identities.json;
// each change is a read-modify-write under this lock, so neither loses
// the other's. The kernel drops the lock when the process dies, however
// it dies; the file is never removed, since that races with the next
// locker.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	wait := time.Millisecond
	for {
		err := tryLock(f)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, errLockBusy) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}
