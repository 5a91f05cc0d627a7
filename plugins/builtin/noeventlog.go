//go:build !windows

package builtin

import (
	"context"
	"fmt"
)

// errNoEventLog is what LastRecord and Events say outside Windows.
var errNoEventLog = fmt.Errorf("the event log exists only on Windows: %w", ErrUnsupported)

func (System) LastRecord(context.Context, string) (uint64, error) {
	return 0, errNoEventLog
}

func (System) Events(context.Context, string, uint64, int) ([]Event, error) {
	return nil, errNoEventLog
}
