package iouring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"

	"golang.org/x/sys/unix"
)

var le = binary.LittleEndian

// Ring is one io_uring instance. See the package documentation for its
// concurrency and buffer-lifetime rules.
type Ring struct {
	fd     int
	sqRing []byte // SQ ring mapping (also the CQ ring with a single mmap)
	cqRing []byte // CQ ring mapping
	sqes   []byte // the SQE array

	sqHead, sqTail, sqMask, sqArray uint32 // offsets in sqRing
	cqHead, cqTail, cqMask, cqCQEs  uint32 // offsets in cqRing
	cqFlags                         uint32 // offset of the CQ flags word; 0 if the kernel has none
	sqEntries, cqEntries            uint32

	single bool   // cqRing aliases sqRing (IORING_FEAT_SINGLE_MMAP)
	files  int    // registered files (RegisterFiles)
	bufs   []span // registered buffer table (RegisterBufferSlots); empty slots have n 0
	tail   uint32 // entries prepared (our private SQ tail)
	closed bool
}

// span is a registered buffer: n bytes at addr.
type span struct{ addr, n uint64 }

// New sets up a ring with room for at least entries submissions (the
// kernel rounds up to a power of two and clamps to its limit); the
// completion queue is twice as large. It fails with an error wrapping
// ErrUnavailable when the kernel refuses io_uring.
func New(entries uint32) (*Ring, error) {
	if entries == 0 {
		return nil, fmt.Errorf("%w: zero entries", ErrArgument)
	}
	p := params{flags: setupClamp}
	fd, err := setup(entries, &p)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w: io_uring_setup: %w", ErrUnavailable, err)
		}
		return nil, fmt.Errorf("io_uring_setup: %w", err)
	}
	r := &Ring{fd: fd, sqEntries: p.sqEntries, cqEntries: p.cqEntries}
	if err := r.mapRings(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// mapRings maps the rings and the SQE array and checks the kernel's
// offsets against the mappings.
func (r *Ring) mapRings(p *params) error {
	if p.features&featNoDrop == 0 {
		return fmt.Errorf("%w: kernel without IORING_FEAT_NODROP", ErrUnavailable)
	}
	sqLen := int(p.sqOff.array) + int(p.sqEntries)*4
	cqLen := int(p.cqOff.cqes) + int(p.cqEntries)*cqeSize
	single := p.features&featSingleMmap != 0
	if single {
		sqLen = max(sqLen, cqLen)
	}
	var err error
	prot, flags := unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE
	if r.sqRing, err = unix.Mmap(r.fd, offSQRing, sqLen, prot, flags); err != nil {
		return fmt.Errorf("mmap sq ring: %w", err)
	}
	if single {
		r.cqRing, r.single = r.sqRing, true
	} else if r.cqRing, err = unix.Mmap(r.fd, offCQRing, cqLen, prot, flags); err != nil {
		return fmt.Errorf("mmap cq ring: %w", err)
	}
	if r.sqes, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sqeSize, prot, flags); err != nil {
		return fmt.Errorf("mmap sqes: %w", err)
	}
	for _, c := range []struct {
		b   []byte
		off uint32
	}{{r.sqRing, p.sqOff.head}, {r.sqRing, p.sqOff.tail}, {r.sqRing, p.sqOff.ringMask},
		{r.cqRing, p.cqOff.head}, {r.cqRing, p.cqOff.tail}, {r.cqRing, p.cqOff.ringMask}} {
		if err := checkOffset(c.b, c.off, 4); err != nil {
			return err
		}
	}
	if err := checkOffset(r.sqRing, p.sqOff.array, int(p.sqEntries)*4); err != nil {
		return err
	}
	if err := checkOffset(r.cqRing, p.cqOff.cqes, int(p.cqEntries)*cqeSize); err != nil {
		return err
	}
	r.sqHead, r.sqTail, r.sqMask, r.sqArray = p.sqOff.head, p.sqOff.tail, p.sqOff.ringMask, p.sqOff.array
	r.cqHead, r.cqTail, r.cqMask, r.cqCQEs = p.cqOff.head, p.cqOff.tail, p.cqOff.ringMask, p.cqOff.cqes
	if p.cqOff.flags != 0 && checkOffset(r.cqRing, p.cqOff.flags, 4) == nil {
		r.cqFlags = p.cqOff.flags
	}
	if m := load32(r.sqRing, r.sqMask); m != r.sqEntries-1 {
		return fmt.Errorf("io_uring: sq mask %#x for %d entries", m, r.sqEntries)
	}
	if m := load32(r.cqRing, r.cqMask); m != r.cqEntries-1 {
		return fmt.Errorf("io_uring: cq mask %#x for %d entries", m, r.cqEntries)
	}
	// The SQ array maps ring slots to SQE indices; use the identity once.
	for i := uint32(0); i < r.sqEntries; i++ {
		le.PutUint32(r.sqRing[r.sqArray+4*i:], i)
	}
	r.tail = load32(r.sqRing, r.sqTail)
	return nil
}

// checkOffset checks that [off, off+n) lies in b and off is 4-aligned.
func checkOffset(b []byte, off uint32, n int) error {
	if off%4 != 0 || int(off) > len(b) || n > len(b)-int(off) {
		return fmt.Errorf("io_uring: ring offset %#x+%d outside a mapping of %d bytes", off, n, len(b))
	}
	return nil
}

// Close unmaps the rings and closes the ring's descriptor. Operations in
// flight are cancelled by the kernel; their buffers may still be written
// until Close returns. It is idempotent.
func (r *Ring) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.sqes != nil {
		_ = unix.Munmap(r.sqes)
	}
	if r.cqRing != nil && !r.single {
		_ = unix.Munmap(r.cqRing)
	}
	if r.sqRing != nil {
		_ = unix.Munmap(r.sqRing)
	}
	r.sqes, r.cqRing, r.sqRing = nil, nil, nil
	return unix.Close(r.fd)
}

// Entries returns the submission queue size.
func (r *Ring) Entries() uint32 { return r.sqEntries }

// CQEntries returns the completion queue size.
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// Space returns how many entries can be prepared before Submit.
func (r *Ring) Space() int {
	if r.closed {
		return 0
	}
	return int(r.sqEntries - (r.tail - load32(r.sqRing, r.sqHead)))
}

// Pending returns how many prepared entries Submit has not handed over.
func (r *Ring) Pending() int {
	if r.closed {
		return 0
	}
	return int(r.tail - load32(r.sqRing, r.sqHead))
}

// next returns the next free SQE, cleared.
func (r *Ring) next() ([]byte, error) {
	if r.closed {
		return nil, ErrClosed
	}
	if r.tail-load32(r.sqRing, r.sqHead) >= r.sqEntries {
		return nil, ErrQueueFull
	}
	i := r.tail & (r.sqEntries - 1)
	e := r.sqes[i*sqeSize : (i+1)*sqeSize : (i+1)*sqeSize]
	clear(e)
	r.tail++
	return e, nil
}

// prep fills the common fields of an entry.
func (r *Ring) prep(op Op, flags Flags, fd int, off, addr uint64, n, opFlags uint32, userData uint64) error {
	_, err := r.fill(op, flags, fd, off, addr, n, opFlags, userData)
	return err
}

// fill is prep returning the entry, for fields beyond the common ones.
func (r *Ring) fill(op Op, flags Flags, fd int, off, addr uint64, n, opFlags uint32, userData uint64) ([]byte, error) {
	if flags&FixedFile != 0 && (fd < 0 || fd >= r.files) {
		return nil, fmt.Errorf("%w: fixed file %d of %d", ErrArgument, fd, r.files)
	}
	e, err := r.next()
	if err != nil {
		return nil, err
	}
	e[sqeOpcode] = byte(op)
	e[sqeFlags] = byte(flags)
	le.PutUint32(e[sqeFD:], uint32(int32(fd)))
	le.PutUint64(e[sqeOff:], off)
	le.PutUint64(e[sqeAddr:], addr)
	le.PutUint32(e[sqeLen:], n)
	le.PutUint32(e[sqeOpFlags:], opFlags)
	le.PutUint64(e[sqeUserData:], userData)
	return e, nil
}

// Read prepares a pread of len(buf) bytes at off of fd into buf. The
// completion's Res is the byte count or -errno.
func (r *Ring) Read(fd int, buf []byte, off int64, flags Flags, userData uint64) error {
	if off < 0 || len(buf) > math.MaxInt32 {
		return fmt.Errorf("%w: read of %d bytes at %d", ErrArgument, len(buf), off)
	}
	return r.prep(OpRead, flags, fd, uint64(off), addrOf(buf), uint32(len(buf)), 0, userData)
}

// Write prepares a pwrite of buf at off of fd.
func (r *Ring) Write(fd int, buf []byte, off int64, flags Flags, userData uint64) error {
	if off < 0 || len(buf) > math.MaxInt32 {
		return fmt.Errorf("%w: write of %d bytes at %d", ErrArgument, len(buf), off)
	}
	return r.prep(OpWrite, flags, fd, uint64(off), addrOf(buf), uint32(len(buf)), 0, userData)
}

// RegisterFiles makes fds the ring's file table, once per ring: an entry
// with FixedFile names fds[i] by the index i. The kernel holds its own
// references to the files until the ring closes.
func (r *Ring) RegisterFiles(fds ...int) error {
	if r.closed {
		return ErrClosed
	}
	if r.files > 0 || len(fds) == 0 {
		return fmt.Errorf("%w: %d files to register, %d registered", ErrArgument, len(fds), r.files)
	}
	t := make([]byte, 4*len(fds))
	for i, fd := range fds {
		le.PutUint32(t[4*i:], uint32(int32(fd)))
	}
	if err := register(r.fd, registerFiles, t, uint32(len(fds))); err != nil {
		return fmt.Errorf("io_uring register files: %w", err)
	}
	r.files = len(fds)
	return nil
}

// RegisterBufferSlots gives the ring an empty table of n registered
// buffers (at most MaxBufferSlots), once per ring; SetBuffer fills it.
// Kernels before 5.19 refuse; callers then use Read and Write.
func (r *Ring) RegisterBufferSlots(n int) error {
	if r.closed {
		return ErrClosed
	}
	if r.bufs != nil || n <= 0 || n > MaxBufferSlots {
		return fmt.Errorf("%w: buffer table of %d slots, %d registered", ErrArgument, n, len(r.bufs))
	}
	rr := make([]byte, rsrcStructSize)
	le.PutUint32(rr[rsrcRegNr:], uint32(n))
	le.PutUint32(rr[rsrcRegFlags:], rsrcRegisterSparse)
	if err := register(r.fd, registerBuffers2, rr, rsrcStructSize); err != nil {
		return fmt.Errorf("io_uring register buffers: %w", err)
	}
	r.bufs = make([]span, n)
	return nil
}

// SetBuffer puts buf in slot i of the buffer table, replacing what was
// there; an empty buf empties the slot. The kernel pins buf's pages until
// the slot changes and no entry using it is in flight, or the ring closes,
// so buf must be memory it can pin (anonymous, shmem or memfd), and it
// counts against RLIMIT_MEMLOCK for callers without CAP_IPC_LOCK.
func (r *Ring) SetBuffer(i int, buf []byte) error {
	if r.closed {
		return ErrClosed
	}
	if i < 0 || i >= len(r.bufs) {
		return fmt.Errorf("%w: buffer slot %d of %d", ErrArgument, i, len(r.bufs))
	}
	iov := make([]byte, iovecSize)
	le.PutUint64(iov[0:], addrOf(buf))
	le.PutUint64(iov[8:], uint64(len(buf)))
	up := make([]byte, rsrcStructSize)
	le.PutUint32(up[rsrcUpdOffset:], uint32(i))
	le.PutUint64(up[rsrcUpdData:], addrOf(iov))
	le.PutUint32(up[rsrcUpdNr:], 1)
	err := register(r.fd, registerBuffersUpdate, up, rsrcStructSize)
	runtime.KeepAlive(iov) // referenced from up by address only
	if err != nil {
		r.bufs[i] = span{}
		return fmt.Errorf("io_uring update buffer %d: %w", i, err)
	}
	r.bufs[i] = span{addr: addrOf(buf), n: uint64(len(buf))}
	return nil
}

// fixed checks that buf lies in registered buffer slot.
func (r *Ring) fixed(buf []byte, slot int) error {
	if slot < 0 || slot >= len(r.bufs) {
		return fmt.Errorf("%w: buffer slot %d of %d", ErrArgument, slot, len(r.bufs))
	}
	b, a, n := r.bufs[slot], addrOf(buf), uint64(len(buf))
	if len(buf) > math.MaxInt32 || a < b.addr || n > b.n || a-b.addr > b.n-n {
		return fmt.Errorf("%w: %d bytes outside buffer slot %d", ErrArgument, len(buf), slot)
	}
	return nil
}

// ReadFixed is Read into buf, which lies in the buffer registered in
// slot: the kernel uses its pinned pages instead of looking buf up.
func (r *Ring) ReadFixed(fd int, buf []byte, off int64, slot int, flags Flags, userData uint64) error {
	return r.prepFixed(OpReadFixed, flags, fd, off, buf, slot, userData)
}

// WriteFixed is Write from buf, which lies in the buffer registered in
// slot.
func (r *Ring) WriteFixed(fd int, buf []byte, off int64, slot int, flags Flags, userData uint64) error {
	return r.prepFixed(OpWriteFixed, flags, fd, off, buf, slot, userData)
}

// prepFixed prepares a READ_FIXED or WRITE_FIXED entry.
func (r *Ring) prepFixed(op Op, flags Flags, fd int, off int64, buf []byte, slot int, userData uint64) error {
	if off < 0 {
		return fmt.Errorf("%w: offset %d", ErrArgument, off)
	}
	if err := r.fixed(buf, slot); err != nil {
		return err
	}
	e, err := r.fill(op, flags, fd, uint64(off), addrOf(buf), uint32(len(buf)), 0, userData)
	if err != nil {
		return err
	}
	le.PutUint16(e[sqeBufIndex:], uint16(slot))
	return nil
}

// Fsync prepares an fsync of fd, or an fdatasync if datasync is set.
func (r *Ring) Fsync(fd int, datasync bool, flags Flags, userData uint64) error {
	var f uint32
	if datasync {
		f = fsyncDatasync
	}
	return r.prep(OpFsync, flags, fd, 0, 0, 0, f, userData)
}

// Fallocate prepares fallocate(fd, mode, off, length).
func (r *Ring) Fallocate(fd int, mode uint32, off, length int64, flags Flags, userData uint64) error {
	if off < 0 || length < 0 {
		return fmt.Errorf("%w: fallocate of %d bytes at %d", ErrArgument, length, off)
	}
	return r.prep(OpFallocate, flags, fd, uint64(off), uint64(length), mode, 0, userData)
}

// Nop prepares an entry that completes with Res 0.
func (r *Ring) Nop(flags Flags, userData uint64) error {
	return r.prep(OpNop, flags, -1, 0, 0, 0, 0, userData)
}

// Submit hands the prepared entries to the kernel and, if wait is above
// zero, waits until at least wait completions are available. It returns the
// number of entries the kernel took. Interrupted calls are retried. Page
// cache hits usually complete during the call.
func (r *Ring) Submit(wait uint32) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	store32(r.sqRing, r.sqTail, r.tail)
	toSubmit := r.tail - load32(r.sqRing, r.sqHead)
	var flags uint32
	if wait > 0 {
		flags = enterGetEvents
	}
	for {
		n, err := enter(r.fd, toSubmit, wait, flags)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("io_uring_enter: %w", err)
		}
		return n, nil
	}
}

// Ready returns how many completions can be reaped without waiting.
func (r *Ring) Ready() int {
	if r.closed {
		return 0
	}
	return int(load32(r.cqRing, r.cqTail) - load32(r.cqRing, r.cqHead))
}

// Reap copies up to len(dst) available completions into dst, frees their
// slots and returns how many it copied. It does not wait.
func (r *Ring) Reap(dst []CQE) int {
	if r.closed || len(dst) == 0 {
		return 0
	}
	head := load32(r.cqRing, r.cqHead)
	tail := load32(r.cqRing, r.cqTail)
	n := 0
	for head != tail && n < len(dst) {
		off := r.cqCQEs + (head&(r.cqEntries-1))*cqeSize
		c := r.cqRing[off : off+cqeSize]
		dst[n] = CQE{UserData: le.Uint64(c[cqeUserData:]), Res: int32(le.Uint32(c[cqeRes:])), Flags: le.Uint32(c[cqeFlags:])}
		head++
		n++
	}
	store32(r.cqRing, r.cqHead, head)
	return n
}

// RegisterEventFD makes the kernel signal the eventfd fd whenever it posts
// a completion.
func (r *Ring) RegisterEventFD(fd int) error {
	if r.closed {
		return ErrClosed
	}
	if err := registerInt32(r.fd, registerEventFD, int32(fd)); err != nil {
		return fmt.Errorf("io_uring register eventfd: %w", err)
	}
	return nil
}

// SetEventFDEnabled turns the registered eventfd's signalling on or off
// (IORING_CQ_EVENTFD_DISABLED), so that a busy consumer is not woken for
// completions it reaps anyway. It reports false if the kernel cannot toggle
// it (before Linux 5.8); the eventfd then stays on.
func (r *Ring) SetEventFDEnabled(on bool) bool {
	if r.closed || r.cqFlags == 0 {
		return false
	}
	f := load32(r.cqRing, r.cqFlags)
	if on {
		f &^= cqEventFDDisabled
	} else {
		f |= cqEventFDDisabled
	}
	store32(r.cqRing, r.cqFlags, f)
	return true
}

// supports reports which of ops the kernel implements
// (IORING_REGISTER_PROBE).
func (r *Ring) supports(ops ...Op) error {
	const nOps = 64
	buf := make([]byte, probeHeader+nOps*probeOpSize)
	if err := register(r.fd, registerProbe, buf, nOps); err != nil {
		return fmt.Errorf("%w: io_uring probe: %w", ErrUnavailable, err)
	}
	n := int(buf[1]) // ops_len
	for _, op := range ops {
		if int(op) >= n || int(op) >= nOps {
			return fmt.Errorf("%w: operation %d not offered", ErrUnavailable, op)
		}
		e := buf[probeHeader+int(op)*probeOpSize:]
		if le.Uint16(e[2:])&opSupported == 0 {
			return fmt.Errorf("%w: operation %d not offered", ErrUnavailable, op)
		}
	}
	return nil
}
