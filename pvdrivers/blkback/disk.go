package blkback

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Config selects the optional features a Disk offers; requests for a
// feature not offered get BLKIF_RSP_EOPNOTSUPP.
type Config struct {
	// Flush offers BLKIF_OP_FLUSH_DISKCACHE (feature-flush-cache).
	Flush bool
	// Discard offers BLKIF_OP_DISCARD (feature-discard).
	Discard bool
	// MaxIndirectSegments offers BLKIF_OP_INDIRECT with up to this many
	// segments (feature-max-indirect-segments); 0 offers no indirect
	// requests. At most MaxIndirectSegments.
	MaxIndirectSegments int
}

// Disk executes blkif requests against a Storage with the guest's grants.
// Its methods may be called concurrently.
type Disk struct {
	st      Storage
	gr      Grants
	cfg     Config
	sectors uint64 // disk size in 512-byte sectors
}

// NewDisk returns a Disk serving st.
func NewDisk(st Storage, gr Grants, cfg Config) (*Disk, error) {
	if cfg.MaxIndirectSegments < 0 || cfg.MaxIndirectSegments > MaxIndirectSegments {
		return nil, fmt.Errorf("%w: max indirect segments %d", ErrImage, cfg.MaxIndirectSegments)
	}
	size := st.Size()
	if size < 0 || size%SectorSize != 0 {
		return nil, fmt.Errorf("%w: size %d is not a whole number of sectors", ErrImage, size)
	}
	return &Disk{st: st, gr: gr, cfg: cfg, sectors: uint64(size) / SectorSize}, nil
}

// Sectors returns the disk size in 512-byte sectors (the "sectors" key).
func (d *Disk) Sectors() uint64 { return d.sectors }

// ReadOnly reports whether the disk refuses writes (VDISK_READONLY).
func (d *Disk) ReadOnly() bool { return d.st.ReadOnly() }

// Config returns the features the disk offers.
func (d *Disk) Config() Config { return d.cfg }

// Handle decodes, validates and executes one ring entry (a private copy)
// and returns its response. It is the synchronous path; Engine runs the same
// steps on a worker pool.
func (d *Disk) Handle(entry []byte) Response {
	r, err := DecodeRequest(entry)
	if err != nil {
		return Response{Status: StatusOf(err)}
	}
	if err := d.Validate(&r); err != nil {
		return d.respond(&r, err)
	}
	return d.respond(&r, d.run(&r, nil))
}

// run executes a validated request. A FLUSH_DISKCACHE first calls
// waitEarlier (if not nil), which returns once every write submitted before
// it has completed, then flushes; if it carries data it writes the data and
// flushes again, so that its completion means the data is durable too.
func (d *Disk) run(r *Request, waitEarlier func()) error {
	if r.Effective() != OpFlushDiskcache {
		return d.Execute(r)
	}
	if waitEarlier != nil {
		waitEarlier()
	}
	if err := d.flush(); err != nil {
		return err
	}
	if len(r.Segments) == 0 {
		return nil
	}
	if err := d.Execute(r); err != nil {
		return err
	}
	return d.flush()
}

// flush makes every completed write durable.
func (d *Disk) flush() error {
	if err := d.st.Flush(); err != nil {
		return fmt.Errorf("%w: flush: %w", ErrIO, err)
	}
	return nil
}

// respond builds the response to r with the status of err.
func (d *Disk) respond(r *Request, err error) Response {
	return Response{ID: r.ID, Operation: r.Effective(), Status: StatusOf(err)}
}

// Validate checks a decoded request against the blkif rules, the features
// offered and the disk size, and for INDIRECT copies the segment pages out
// of the guest's grants into r.Segments and checks them. Every check is
// overflow-safe.
func (d *Disk) Validate(r *Request) error {
	switch r.Operation {
	case OpRead, OpWrite:
		if r.NrSegments < 1 || r.NrSegments > MaxSegments {
			return fmt.Errorf("%w: %d segments", ErrBadRequest, r.NrSegments)
		}
	case OpFlushDiskcache:
		if !d.cfg.Flush {
			return fmt.Errorf("%w: flush", ErrNotSupported)
		}
		// Linux blkfront sends flushes with data (REQ_PREFLUSH|REQ_FUA
		// writes); an empty flush has no segments.
		if r.NrSegments > MaxSegments {
			return fmt.Errorf("%w: %d segments", ErrBadRequest, r.NrSegments)
		}
	case OpDiscard:
		if !d.cfg.Discard {
			return fmt.Errorf("%w: discard", ErrNotSupported)
		}
		if d.st.ReadOnly() {
			return ErrReadOnly
		}
		return d.checkRange(r.Sector, r.NrSectors)
	case OpIndirect:
		if d.cfg.MaxIndirectSegments == 0 {
			return fmt.Errorf("%w: indirect", ErrNotSupported)
		}
		if r.IndirectOp != OpRead && r.IndirectOp != OpWrite {
			return fmt.Errorf("%w: indirect operation %d", ErrBadRequest, r.IndirectOp)
		}
		if r.NrSegments < 1 || r.NrSegments > d.cfg.MaxIndirectSegments {
			return fmt.Errorf("%w: %d indirect segments", ErrBadRequest, r.NrSegments)
		}
		segs, err := d.readIndirect(r)
		if err != nil {
			return err
		}
		r.Segments = segs
	default:
		// WRITE_BARRIER, RESERVED_1 and unknown operations.
		return fmt.Errorf("%w: operation %d", ErrNotSupported, r.Operation)
	}
	if d.st.ReadOnly() && r.Effective() != OpRead && len(r.Segments) > 0 {
		return ErrReadOnly
	}
	var total uint64
	for i, s := range r.Segments {
		if !s.valid() {
			return fmt.Errorf("%w: segment %d sectors %d..%d", ErrBadRequest, i, s.FirstSect, s.LastSect)
		}
		total += s.sectors() // at most 4096*8: no overflow
	}
	return d.checkRange(r.Sector, total)
}

// checkRange checks that sectors [start, start+n) lie inside the disk.
func (d *Disk) checkRange(start, n uint64) error {
	if start > d.sectors || n > d.sectors-start {
		return fmt.Errorf("%w: sectors %d+%d of %d", ErrRange, start, n, d.sectors)
	}
	return nil
}

// readIndirect copies the segment structs of an indirect request out of its
// indirect pages (granted for reading).
func (d *Disk) readIndirect(r *Request) ([]Segment, error) {
	segs := slices.Grow(r.Segments[:0], r.NrSegments)
	var page [PageSize]byte
	for i, ref := range r.IndirectRef {
		n := min(r.NrSegments-i*SegmentsPerIndirectPage, SegmentsPerIndirectPage)
		if err := d.copyFrom(ref, 0, page[:n*SegmentSize]); err != nil {
			return nil, err
		}
		for j := 0; j < n; j++ {
			segs = append(segs, decodeSegment(page[j*SegmentSize:]))
		}
	}
	return segs, nil
}

// copyFrom copies len(dst) bytes at offset in the page granted by ref.
func (d *Disk) copyFrom(ref, offset uint32, dst []byte) error {
	m, err := d.gr.Acquire(ref, offset, uint32(len(dst)), false)
	if err != nil {
		return fmt.Errorf("%w: ref %d: %w", ErrGrant, ref, err)
	}
	defer m.Release()
	if copy(dst, m.Bytes()) != len(dst) {
		return fmt.Errorf("%w: ref %d: short mapping", ErrGrant, ref)
	}
	return nil
}

// Execute performs the data transfer of a validated request: READ copies
// the disk into the granted pages, WRITE and FLUSH_DISKCACHE with segments
// copy the granted pages to the disk, DISCARD discards. It does not flush:
// the caller orders flushes (see Engine and Handle).
func (d *Disk) Execute(r *Request) error {
	switch r.Effective() {
	case OpDiscard:
		if r.NrSectors > math.MaxInt64/SectorSize {
			return ErrRange
		}
		err := d.st.Discard(int64(r.Sector)*SectorSize, int64(r.NrSectors)*SectorSize)
		if err != nil && !errors.Is(err, ErrNotSupported) && !errors.Is(err, ErrReadOnly) {
			err = fmt.Errorf("%w: %w", ErrIO, err)
		}
		return err
	case OpRead, OpWrite, OpFlushDiskcache:
	default:
		return fmt.Errorf("%w: operation %d", ErrNotSupported, r.Effective())
	}
	read := r.Effective() == OpRead
	off := int64(r.Sector) * SectorSize // checkRange bounds it by Size
	for _, s := range r.Segments {
		n := uint32(s.sectors()) * SectorSize
		m, err := d.gr.Acquire(s.GrantRef, uint32(s.FirstSect)*SectorSize, n, read)
		if err != nil {
			return fmt.Errorf("%w: ref %d: %w", ErrGrant, s.GrantRef, err)
		}
		b := m.Bytes()
		if uint32(len(b)) != n {
			m.Release()
			return fmt.Errorf("%w: ref %d: mapping of %d bytes for %d", ErrGrant, s.GrantRef, len(b), n)
		}
		var done int
		if read {
			done, err = d.st.ReadAt(b, off)
		} else {
			done, err = d.st.WriteAt(b, off)
		}
		m.Release()
		if err == nil && done != len(b) {
			err = fmt.Errorf("short transfer of %d of %d bytes", done, len(b))
		}
		if err != nil {
			if errors.Is(err, ErrReadOnly) {
				return err
			}
			return fmt.Errorf("%w: %w", ErrIO, err)
		}
		off += int64(n)
	}
	return nil
}
