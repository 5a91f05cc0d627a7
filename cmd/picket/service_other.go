//go:build !windows

package main

import (
	"context"

	"github.com/picket-monitoring/picket/internal/logs"
)

// runAsService runs in the foreground: systemd and SysV scripts stop picket
// with SIGTERM as a terminal does, so --service asks for nothing more.
func runAsService(ctx context.Context, _ string, _ stdio, run func(context.Context, logs.EventSink) int) int {
	return run(ctx, nil)
}
