package main

import (
	"context"
)

func runServer(ctx context.Context, args []string, sio stdio) int { return exitUsage }
