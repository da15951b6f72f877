package blkback

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/xenolith/xenolith/hv/gnttab"
	"github.com/xenolith/xenolith/internal/iouring"
)

// rawFile is implemented by storages whose requests may go straight to a
// host file descriptor (File without O_DIRECT). Wrappers that must see
// every request (fault injection) do not implement it and get the worker
// pool.
type rawFile interface {
	// rawFD returns the descriptor and whether io_uring may use it with
	// arbitrary 512-byte-aligned guest buffers.
	rawFD() (int, bool)
}

// uringEntries is the submission queue size of a ring's io_uring; the
// completion queue is twice that, which bounds the operations in flight.
const uringEntries = 256

// uslot is a request in flight on the io_uring engine.
type uslot struct {
	req     Request       // decoded request (slices reused between requests)
	maps    []Mapping     // grants held until the request completes
	holds   []gnttab.Hold // the same, from a holdGrants
	ios     []uio         // one per submission entry
	pending int           // entries not yet completed
	err     error         // first failure
}

// uio is one submitted operation of a request.
type uio struct {
	buf   []byte // data buffer (guest memory), nil for fsync and discard
	off   int64  // file offset
	write bool   // pwrite rather than pread
	op    iouring.Op
	slot  int // registered buffer holding buf (a persistent grant's page), or -1
}

// uringEngine runs the requests of one ring on io_uring from the ring
// consumer goroutine: page-cache hits complete during the submitting
// system call, so a batch of requests costs one system call, and data moves
// between the file and the granted guest pages with no copy in between.
//
// The file is registered with the ring where the kernel allows, and so is
// every page held under feature-persistent (one registered buffer per
// cached hold, at the hold's index), so that a request on persistent
// grants costs the kernel neither a descriptor lookup nor a walk of the
// guest address: the same pages stay pinned for as long as the frontend
// keeps them granted, which is what persistent grants promise. Pinned
// pages are at most MaxPersistentGrants per ring; the ring's close unpins
// them before the holds are dropped.
//
// Ordering: a FLUSH_DISKCACHE is submitted with IOSQE_IO_DRAIN, so the
// kernel starts its fdatasync only after every entry submitted before it
// (every earlier write) has completed; a flush with data is the chain
// fdatasync -> writes -> fdatasync linked with IOSQE_IO_LINK.
type uringEngine struct {
	d     *Disk
	hg    holdGrants    // d's grants as values, or nil
	pc    *persistCache // persistent grants (feature-persistent), or nil
	fd    int           // the file's descriptor
	ffd   int           // what entries name it by: fd, or 0 in the registered file table
	fflag iouring.Flags // FixedFile when the file is registered
	reg   []int8        // per persistent hold: 1 registered as a buffer, -1 refused, 0 not tried
	ring  *iouring.Ring
	slots []uslot
	free  []uint32
	ops   int // operations submitted or prepared and not completed
	cqes  []iouring.CQE
	out   []Response // completed, waiting to be put on the ring
}

// newUringEngine returns an io_uring engine for a ring of size requests,
// or an error if io_uring or the storage does not allow one.
func newUringEngine(d *Disk, size int) (*uringEngine, error) {
	rf, ok := d.st.(rawFile)
	if !ok {
		return nil, fmt.Errorf("%w: storage has no raw file", ErrNotSupported)
	}
	fd, ok := rf.rawFD()
	if !ok {
		return nil, fmt.Errorf("%w: storage needs bounce buffers", ErrNotSupported)
	}
	if err := iouring.Available(); err != nil {
		return nil, err
	}
	r, err := iouring.New(uringEntries)
	if err != nil {
		return nil, err
	}
	e := &uringEngine{d: d, fd: fd, ffd: fd, ring: r, slots: make([]uslot, size), cqes: make([]iouring.CQE, 64)}
	if r.RegisterFiles(fd) == nil {
		e.ffd, e.fflag = 0, iouring.FixedFile
	}
	e.hg, _ = d.gr.(holdGrants)
	for i := size - 1; i >= 0; i-- {
		e.free = append(e.free, uint32(i))
	}
	return e, nil
}

// persistent turns on the persistent-grant cache and, where the kernel
// allows, a registered buffer table for its pages.
func (e *uringEngine) persistent() {
	if e.hg == nil {
		return
	}
	e.pc = newPersistCache(e.hg, MaxPersistentGrants)
	if e.ring.RegisterBufferSlots(MaxPersistentGrants) == nil {
		e.reg = make([]int8, MaxPersistentGrants)
	}
}

// submit decodes, validates and prepares one ring entry (a private copy).
// A request that cannot start is answered at once. Prepared entries reach
// the kernel at the next flushSubmit.
func (e *uringEngine) submit(entry []byte) error {
	if len(e.free) == 0 {
		return fmt.Errorf("%w: more requests than ring slots", ErrBadRequest)
	}
	id := e.free[len(e.free)-1]
	e.free = e.free[:len(e.free)-1]
	s := &e.slots[id]
	s.ios, s.maps, s.pending, s.err = s.ios[:0], s.maps[:0], 0, nil
	r := &s.req
	err := decodeInto(r, entry)
	if err == nil {
		err = e.d.Validate(r)
	}
	if err == nil {
		err = e.plan(s)
	}
	if err != nil || len(s.ios) == 0 {
		e.finish(id, err)
		return nil
	}
	// Links must not straddle a submission; other entries may.
	if e.ring.Space() < len(s.ios) {
		if err := e.flushSubmit(); err != nil {
			return err
		}
	}
	for i := range s.ios {
		if err := e.prep(id, uint32(i), len(s.ios)); err != nil {
			return err
		}
	}
	return nil
}

// plan acquires the request's grants and lists its operations in s.ios.
func (e *uringEngine) plan(s *uslot) error {
	r := &s.req
	switch r.Effective() {
	case OpDiscard:
		if r.NrSectors == 0 {
			return nil
		}
		s.ios = append(s.ios, uio{op: iouring.OpFallocate, off: int64(r.Sector) * SectorSize,
			buf: nil, write: true, slot: -1})
		return nil
	case OpFlushDiskcache:
		s.ios = append(s.ios, uio{op: iouring.OpFsync, slot: -1})
		if len(r.Segments) == 0 {
			return nil
		}
	}
	read := r.Effective() == OpRead
	off := int64(r.Sector) * SectorSize
	for _, sg := range r.Segments {
		n := uint32(sg.sectors()) * SectorSize
		b, slot, err := e.acquire(s, sg, n, read)
		if err != nil {
			e.release(s)
			return err
		}
		if uint32(len(b)) != n {
			e.release(s)
			return fmt.Errorf("%w: ref %d: mapping of %d bytes for %d", ErrGrant, sg.GrantRef, len(b), n)
		}
		op := iouring.OpRead
		if !read {
			op = iouring.OpWrite
		}
		s.ios = append(s.ios, uio{op: op, buf: b, off: off, write: !read, slot: slot})
		off += int64(n)
	}
	if r.Effective() == OpFlushDiskcache {
		s.ios = append(s.ios, uio{op: iouring.OpFsync, slot: -1})
	}
	return nil
}

// acquire holds segment sg (n bytes) of slot s for writing if write and
// returns its bytes and the registered buffer holding them, or -1.
func (e *uringEngine) acquire(s *uslot, sg Segment, n uint32, write bool) ([]byte, int, error) {
	off := uint32(sg.FirstSect) * SectorSize
	if e.pc != nil {
		if b, i, ok := e.pc.get(sg.GrantRef, off, n, write); ok {
			return b, e.registered(i), nil
		}
	}
	if e.hg != nil {
		h, err := e.hg.acquireHold(sg.GrantRef, off, n, write)
		if err != nil {
			return nil, -1, fmt.Errorf("%w: ref %d: %w", ErrGrant, sg.GrantRef, err)
		}
		s.holds = append(s.holds, h)
		return h.Bytes(), -1, nil
	}
	m, err := e.d.gr.Acquire(sg.GrantRef, off, n, write)
	if err != nil {
		return nil, -1, fmt.Errorf("%w: ref %d: %w", ErrGrant, sg.GrantRef, err)
	}
	s.maps = append(s.maps, m)
	return m.Bytes(), -1, nil
}

// registered returns the registered buffer of persistent hold i,
// registering its page on first use, or -1 if it has none.
func (e *uringEngine) registered(i int) int {
	if i >= len(e.reg) {
		return -1
	}
	if e.reg[i] == 0 {
		e.reg[i] = -1
		if page := e.pc.page(i); page != nil && e.ring.SetBuffer(i, page) == nil {
			e.reg[i] = 1
		}
	}
	if e.reg[i] < 0 {
		return -1
	}
	return i
}

// prep puts operation i of slot id into the submission queue, submitting
// or waiting for completions when the queues are full.
func (e *uringEngine) prep(id, i uint32, n int) error {
	for e.ops >= int(e.ring.CQEntries()) {
		if err := e.wait(); err != nil {
			return err
		}
	}
	if e.ring.Space() == 0 {
		if err := e.flushSubmit(); err != nil {
			return err
		}
	}
	s := &e.slots[id]
	io := &s.ios[i]
	ud := uint64(id)<<32 | uint64(i)
	var flags iouring.Flags
	flush := s.req.Effective() == OpFlushDiskcache
	if flush && i == 0 {
		flags |= iouring.Drain
	}
	if flush && int(i) < n-1 {
		flags |= iouring.Link
	}
	var err error
	flags |= e.fflag
	switch {
	case io.op == iouring.OpRead && io.slot >= 0:
		err = e.ring.ReadFixed(e.ffd, io.buf, io.off, io.slot, flags, ud)
	case io.op == iouring.OpRead:
		err = e.ring.Read(e.ffd, io.buf, io.off, flags, ud)
	case io.op == iouring.OpWrite && io.slot >= 0:
		err = e.ring.WriteFixed(e.ffd, io.buf, io.off, io.slot, flags, ud)
	case io.op == iouring.OpWrite:
		err = e.ring.Write(e.ffd, io.buf, io.off, flags, ud)
	case io.op == iouring.OpFsync:
		err = e.ring.Fsync(e.ffd, true, flags, ud)
	case io.op == iouring.OpFallocate:
		const punchHole, keepSize = 0x2, 0x1 // FALLOC_FL_* (linux/falloc.h)
		err = e.ring.Fallocate(e.ffd, punchHole|keepSize, io.off, int64(s.req.NrSectors)*SectorSize, flags, ud)
	}
	if err != nil {
		return fmt.Errorf("blkback io_uring: %w", err)
	}
	s.pending++
	e.ops++
	return nil
}

// flushSubmit hands prepared entries to the kernel without waiting, then
// reaps what completed meanwhile.
func (e *uringEngine) flushSubmit() error {
	if e.ring.Pending() > 0 {
		if _, err := e.ring.Submit(0); err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EAGAIN) {
			return fmt.Errorf("blkback io_uring: %w", err)
		}
	}
	e.reap()
	return nil
}

// wait submits and blocks until at least one completion arrives, then
// reaps.
func (e *uringEngine) wait() error {
	if e.ops == 0 {
		return nil
	}
	if e.ring.Ready() == 0 {
		if _, err := e.ring.Submit(1); err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EAGAIN) {
			return fmt.Errorf("blkback io_uring: %w", err)
		}
	}
	e.reap()
	return nil
}

// reap takes every available completion and finishes the requests whose
// operations are all done.
func (e *uringEngine) reap() {
	for {
		n := e.ring.Reap(e.cqes)
		if n == 0 {
			return
		}
		for _, c := range e.cqes[:n] {
			e.complete(c)
		}
	}
}

// complete accounts one completion.
func (e *uringEngine) complete(c iouring.CQE) {
	id, i := c.UserData>>32, uint32(c.UserData)
	if id >= uint64(len(e.slots)) || i >= uint32(len(e.slots[id].ios)) {
		return // not ours: cannot happen
	}
	s := &e.slots[id]
	io := &s.ios[i]
	e.ops--
	s.pending--
	if err := e.result(io, c.Res); err != nil && s.err == nil {
		s.err = err
	}
	if s.pending == 0 {
		e.finish(uint32(id), s.err)
	}
}

// result turns a completion's result into an error, finishing a short
// transfer synchronously.
func (e *uringEngine) result(io *uio, res int32) error {
	if res < 0 {
		errno := syscall.Errno(-res)
		switch {
		case io.op == iouring.OpFallocate && (errno == unix.EOPNOTSUPP || errno == unix.ENOSYS):
			return fmt.Errorf("%w: punch hole: %w", ErrNotSupported, errno)
		case errno == unix.ECANCELED:
			return fmt.Errorf("%w: cancelled after an earlier failure", ErrIO)
		}
		return fmt.Errorf("%w: %w", ErrIO, errno)
	}
	if io.buf == nil || int(res) == len(io.buf) {
		return nil
	}
	done := int(res)
	for done < len(io.buf) {
		var n int
		var err error
		if io.write {
			n, err = unix.Pwrite(e.fd, io.buf[done:], io.off+int64(done))
		} else {
			n, err = unix.Pread(e.fd, io.buf[done:], io.off+int64(done))
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrIO, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: short transfer of %d of %d bytes", ErrIO, done, len(io.buf))
		}
		done += n
	}
	return nil
}

// finish releases a request's grants, queues its response and frees its
// slot.
func (e *uringEngine) finish(id uint32, err error) {
	s := &e.slots[id]
	e.release(s)
	e.out = append(e.out, e.d.respond(&s.req, err))
	e.free = append(e.free, id)
}

// release drops the grants a slot holds.
func (e *uringEngine) release(s *uslot) {
	for i, m := range s.maps {
		m.Release()
		s.maps[i] = nil
	}
	s.maps = s.maps[:0]
	if len(s.holds) > 0 {
		e.hg.releaseHolds(s.holds)
		s.holds = s.holds[:0]
	}
	for i := range s.ios {
		s.ios[i].buf = nil
	}
}

// drain waits for every operation in flight.
func (e *uringEngine) drain() {
	for e.ops > 0 {
		if err := e.wait(); err != nil {
			// The ring failed: nothing more will complete. Give up the
			// grants of what is left (the kernel cancels on close).
			e.ring.Close()
			for id := range e.slots {
				if e.slots[id].pending > 0 {
					e.slots[id].pending = 0
					e.finish(uint32(id), err)
				}
			}
			e.ops = 0
		}
	}
}

// close drains and closes the ring, then drops the persistent grants.
func (e *uringEngine) close() {
	e.drain()
	e.ring.Close()
	if e.pc != nil {
		e.pc.release()
	}
}
