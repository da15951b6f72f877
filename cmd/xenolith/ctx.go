package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// contextWithTimeout returns a context cancelled by Ctrl-C, SIGTERM or the
// timeout, and the function that releases it.
func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx2, cancel := context.WithTimeout(ctx, d)
	return ctx2, func() { cancel(); stop() }
}
