package blkback

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// ServeOptions tune Serve.
type ServeOptions struct {
	// Workers is the size of the worker pool when io_uring is not used
	// (default 8).
	Workers int
	// NoUring forces the worker pool even where io_uring works.
	NoUring bool
	// Spin is the longest the io_uring consumer keeps polling the ring
	// (and the completions) after its last piece of work before it arms
	// req_event and sleeps on the event channel; the window adapts
	// between spinFloor and Spin to how soon the guest's next request
	// came after earlier sleeps. Polling saves the guest's kick and the
	// backend's wake-up while the guest keeps requests coming; 0 means
	// DefaultSpin, a negative value never polls.
	Spin time.Duration
	// Persistent keeps the holds of the frontend's grants until the ring
	// disconnects (io/blkif.h feature-persistent): set it when the
	// frontend wrote feature-persistent=1 (RingConfig.Persistent). Only
	// the io_uring data path on a TableGrants uses it.
	Persistent bool
}

// DefaultSpin is ServeOptions.Spin's default: longer than a guest's turn
// around between batches on this nested host (tens of microseconds), short
// enough that a disk used now and then costs little polling.
const DefaultSpin = time.Millisecond

// Serve runs the data path of one ring with a pool of workers goroutines
// where io_uring is not available; see ServeWith.
func Serve(ctx context.Context, back *ring.Backend, d *Disk, ch Channel, workers int) error {
	return ServeWith(ctx, back, d, ch, ServeOptions{Workers: workers})
}

// ServeWith runs the data path of one ring: it consumes requests, runs
// them on io_uring from the consumer goroutine when the kernel offers it and
// the storage is a buffered File (otherwise on an Engine of worker
// goroutines), puts and pushes responses a chunk or batch at a time,
// notifies the guest when the push rules say so, (on io_uring) polls for an
// adaptive window of at most o.Spin after its last work, and sleeps on ch
// only after the final check. It returns nil when ctx
// ends, the Channel's error if waiting fails, and an error wrapping
// ring.ErrBroken if the frontend broke the ring (the caller disconnects the
// device). Requests in flight complete before it returns, so no grant stays
// held.
func ServeWith(ctx context.Context, back *ring.Backend, d *Disk, ch Channel, o ServeOptions) error {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Spin == 0 {
		o.Spin = DefaultSpin
	}
	if !o.NoUring {
		if e, err := newUringEngine(d, int(back.Size())); err == nil {
			if o.Persistent {
				e.persistent()
			}
			return serveUring(ctx, back, e, ch, o.Spin)
		}
	}
	return servePool(ctx, back, d, ch, o.Workers)
}

// startKicks forwards the guest's kicks to a channel from a goroutine that
// lives until ctx ends.
func startKicks(ctx context.Context, ch Channel) (<-chan struct{}, <-chan error) {
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
	return kicks, waitErr
}

// waitEnded turns the kick goroutine's error into Serve's result.
func waitEnded(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return fmt.Errorf("blkback event channel: %w", err)
}

// serveUring is the io_uring data path: one goroutine consumes requests,
// submits them in a batch, reaps completions and pushes responses. It
// sleeps in ch.Wait itself (no goroutine hand-off on the guest's kick)
// when nothing is in flight; while operations that missed the page cache
// are in flight it naps in short sleeps, looking at the ring and the
// completions in between.
func serveUring(ctx context.Context, back *ring.Backend, e *uringEngine, ch Channel, spin time.Duration) error {
	defer e.close()
	// While polling, a channel that can tell (the monitor's endpoint) is
	// asked whether the guest is still there.
	linked, _ := ch.(interface{ Connected() bool })
	es := back.EntrySize()
	reqs := make([]byte, int(back.Size())*es)
	rb := make([]byte, ResponseSize)
	var last time.Time // start of the current idle spell
	idle := 0          // idle iterations in it
	window := min(spin, spinStart)
	// Consume at most a chunk at a time, so that requests the guest
	// queued while the previous chunk ran join the next one.
	cons := reqs[:min(uringChunk, int(back.Size()))*es]
	for {
		n, err := back.Consume(cons)
		if err != nil {
			return fmt.Errorf("blkback ring: %w", err)
		}
		for i := 0; i < n; i++ {
			if err := e.submit(reqs[i*es : (i+1)*es]); err != nil {
				return err
			}
		}
		if n > 0 {
			if err := e.flushSubmit(); err != nil {
				return err
			}
		}
		if n == 0 {
			e.reap() // completions of operations that missed the page cache
		}
		pushed := len(e.out) > 0
		if err := putResponses(back, e, ch, rb); err != nil {
			return err
		}
		if n > 0 || pushed {
			last, idle = time.Time{}, 0
			continue
		}
		idle++
		if idle%64 == 1 && (ctx.Err() != nil || (linked != nil && !linked.Connected())) {
			return nil // the guest is going away: stop touching its memory
		}
		if window > 0 && idle%spinCheck != 0 {
			continue // look at the clock only now and then: it is slow here
		}
		if window > 0 {
			now := time.Now()
			if last.IsZero() {
				last = now
			}
			if now.Sub(last) < window {
				continue
			}
		}
		if back.FinalCheckForRequests() {
			continue
		}
		if e.ops > 0 {
			// The spell stays expired: nap until work shows up.
			time.Sleep(uringNap)
			continue
		}
		last, idle = time.Time{}, 0
		t0 := time.Now()
		if err := ch.Wait(ctx); err != nil {
			return waitEnded(ctx, err)
		}
		ch.Drain()
		window = adaptSpin(window, spin, time.Since(t0))
	}
}

// putResponses puts and pushes the engine's finished responses and
// notifies the guest if the ring says so.
func putResponses(back *ring.Backend, e *uringEngine, ch Channel, rb []byte) error {
	if len(e.out) == 0 {
		return nil
	}
	for _, r := range e.out {
		r.Encode(rb)
		if err := back.PutResponse(rb); err != nil {
			return fmt.Errorf("blkback ring: %w", err)
		}
	}
	e.out = e.out[:0]
	if back.PushResponses() {
		ch.Notify()
	}
	return nil
}

// Adaptive polling, as KVM's halt polling: the consumer polls for a window
// that starts at spinStart, doubles (up to ServeOptions.Spin) each time it
// slept less than spinBusy times ServeOptions.Spin (the guest is busy: a
// longer poll would have saved the kick and the wake-up), and halves (down
// to spinFloor) each time it slept longer. A guest that keeps its queue
// busy is polled for; an idle one costs at most spinFloor of polling per
// burst.
const (
	spinStart = 50 * time.Microsecond
	spinFloor = 10 * time.Microsecond
	spinBusy  = 8
)

// adaptSpin returns the next poll window after a sleep of slept, for a
// window of at most limit.
func adaptSpin(window, limit, slept time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	// A wake-up costs the guest a kick and this host hundreds of
	// microseconds, so a sleep shorter than a few windows still says
	// that the guest is busy.
	if slept < spinBusy*limit {
		return min(2*max(window, spinFloor), limit)
	}
	return max(window/2, min(spinFloor, limit))
}

// uringChunk is the most requests the io_uring consumer takes from the
// ring, submits in one system call and answers before it looks at the ring
// again: large enough to amortise the call and the response push, small
// enough that the guest refills the ring while a chunk runs (measured on
// this host: 8 or 16 cost more per request, all 32 leave the backend idle
// while the guest turns the batch around).
const uringChunk = 24

// spinCheck is how many idle polls the io_uring consumer makes between
// looks at the clock; a clock read costs more than a poll on a nested host.
const spinCheck = 16

// uringNap is how long the io_uring consumer sleeps between looks while
// operations that missed the page cache are in flight.
const uringNap = 20 * time.Microsecond

// servePool is the worker-pool data path.
func servePool(ctx context.Context, back *ring.Backend, d *Disk, ch Channel, workers int) error {
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
	kicks, waitErr := startKicks(ctx, ch)

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
			return waitEnded(ctx, err)
		case <-ctx.Done():
			return nil
		}
	}
}
