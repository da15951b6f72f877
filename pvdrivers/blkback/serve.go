package blkback

import (
	"context"
	"errors"
	"fmt"

	"github.com/xenolith/xenolith/pvdrivers/ring"
)

// Channel is the backend's end of the ring's event channel; *evtchn.Endpoint
// satisfies it.
type Channel interface {
	// Notify raises the guest's port.
	Notify()
	// Wait blocks until the guest has kicked since the last Drain, or
	// fails (disconnect, close, ctx done).
	Wait(ctx context.Context) error
	// Drain resets the kick count.
	Drain() uint64
}

// Serve runs the data path of one ring: it consumes requests, runs them on
// an Engine of workers goroutines, puts and pushes responses, notifies the
// guest when the push rules say so, and sleeps on ch only after the final
// check. It returns nil when ctx ends, the Channel's error if waiting fails,
// and an error wrapping ring.ErrBroken if the frontend broke the ring (the
// caller disconnects the device). Requests in flight complete before it
// returns, so no grant stays held.
func Serve(ctx context.Context, back *ring.Backend, d *Disk, ch Channel, workers int) error {
	size := int(back.Size())
	e := NewEngine(d, workers, size)
	// Each worker sends one response per request, and at most size
	// requests are in flight: sends never block.
	rsps := make(chan Response, size)
	defer func() {
		e.Close()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kicks := make(chan struct{}, 1)
	waitErr := make(chan error, 1)
	go func() {
		for {
			if err := ch.Wait(ctx); err != nil {
				waitErr <- err
				return
			}
			ch.Drain()
			select {
			case kicks <- struct{}{}:
			default:
			}
		}
	}()

	reqs := make([]byte, size*back.EntrySize())
	rb := make([]byte, ResponseSize)
	done := func(r Response) { rsps <- r }
	var ready []Response
	for {
		n, err := back.Consume(reqs)
		if err != nil {
			return fmt.Errorf("blkback ring: %w", err)
		}
		for i := 0; i < n; i++ {
			entry := reqs[i*back.EntrySize() : (i+1)*back.EntrySize()]
			if err := e.Submit(entry, done); err != nil {
				return err
			}
		}
		for more := true; more; {
			select {
			case r := <-rsps:
				ready = append(ready, r)
			default:
				more = false
			}
		}
		for _, r := range ready {
			r.Encode(rb)
			if err := back.PutResponse(rb); err != nil {
				return fmt.Errorf("blkback ring: %w", err)
			}
		}
		pushed := len(ready) > 0
		ready = ready[:0]
		if pushed && back.PushResponses() {
			ch.Notify()
		}
		if n > 0 || pushed || back.FinalCheckForRequests() {
			continue
		}
		select {
		case <-kicks:
		case r := <-rsps:
			ready = append(ready, r)
		case err := <-waitErr:
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil
			}
			return fmt.Errorf("blkback event channel: %w", err)
		case <-ctx.Done():
			return nil
		}
	}
}
