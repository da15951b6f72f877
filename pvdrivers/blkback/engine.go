package blkback

import (
	"fmt"
	"sync"
)

// Engine runs requests of one Disk on a bounded pool of worker goroutines so
// that many are in flight at once. Submit queues a request; its done
// callback receives the response from a worker goroutine.
//
// Ordering: requests may complete in any order, except that a
// FLUSH_DISKCACHE starts only after every write (WRITE, DISCARD, flush with
// data, INDIRECT write) submitted before it has completed, and then
// fdatasyncs. Submit must be called from one goroutine (the ring consumer),
// in ring order.
type Engine struct {
	disk *Disk
	jobs chan job
	wg   sync.WaitGroup

	mu       sync.Mutex          // protects the fields below
	cond     *sync.Cond          // signalled when a write completes
	pending  map[uint64]struct{} // tickets of writes submitted and not completed
	next     uint64              // next write ticket
	closed   bool
	inflight int // jobs submitted and not completed
}

// job is one queued request.
type job struct {
	req     Request
	err     error  // a validation error: respond without running
	ticket  uint64 // writes: this write's ticket
	write   bool   // holds a ticket
	barrier uint64 // flushes: wait for writes with tickets below it
	done    func(Response)
}

// NewEngine starts workers goroutines serving d, with room for depth queued
// requests beyond those being run (Submit blocks when the queue is full).
func NewEngine(d *Disk, workers, depth int) *Engine {
	workers = max(workers, 1)
	depth = max(depth, 0)
	e := &Engine{disk: d, jobs: make(chan job, depth), pending: make(map[uint64]struct{})}
	e.cond = sync.NewCond(&e.mu)
	e.wg.Add(workers)
	for range workers {
		go e.worker()
	}
	return e
}

// Submit decodes and validates a ring entry (a private copy, not kept) and
// queues it. Invalid requests are answered through done too. It blocks while
// the queue is full and fails only after Close.
func (e *Engine) Submit(entry []byte, done func(Response)) error {
	r, err := DecodeRequest(entry)
	if err == nil {
		err = e.disk.Validate(&r)
	}
	j := job{req: r, err: err, done: done}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	if err == nil {
		switch {
		case r.Effective() == OpFlushDiskcache:
			j.barrier = e.next
			if len(r.Segments) > 0 {
				j.write = true
			}
		case r.Effective() != OpRead:
			j.write = true
		}
		if j.write {
			j.ticket = e.next
			e.next++
			e.pending[j.ticket] = struct{}{}
		}
	}
	e.inflight++
	e.mu.Unlock()
	e.jobs <- j
	return nil
}

// worker runs jobs until the queue is closed.
func (e *Engine) worker() {
	defer e.wg.Done()
	for j := range e.jobs {
		err := j.err
		if err == nil {
			err = e.disk.run(&j.req, func() { e.waitBefore(j.barrier) })
		}
		e.mu.Lock()
		if j.write {
			delete(e.pending, j.ticket)
		}
		e.inflight--
		e.cond.Broadcast()
		e.mu.Unlock()
		if j.done != nil {
			j.done(e.disk.respond(&j.req, err))
		}
	}
}

// waitBefore returns once no write with a ticket below barrier is pending.
// Such writes were queued before the flush and so were taken by workers
// before it: they are running, never waiting, and complete.
func (e *Engine) waitBefore(barrier uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.pendingBefore(barrier) {
		e.cond.Wait()
	}
}

// pendingBefore reports whether a write ticket below barrier is pending;
// e.mu is held.
func (e *Engine) pendingBefore(barrier uint64) bool {
	for t := range e.pending {
		if t < barrier {
			return true
		}
	}
	return false
}

// Drain waits until every submitted request has completed.
func (e *Engine) Drain() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.inflight > 0 {
		e.cond.Wait()
	}
}

// Close waits for the queued requests to complete and stops the workers.
// Submit must not be running.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return fmt.Errorf("close engine: %w", ErrClosed)
	}
	e.closed = true
	e.mu.Unlock()
	close(e.jobs)
	e.wg.Wait()
	return nil
}
