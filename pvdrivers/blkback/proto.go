package blkback

import (
	"encoding/binary"
	"fmt"
)

// Operations (BLKIF_OP_*, io/blkif.h).
const (
	OpRead           = 0 // BLKIF_OP_READ: disk to guest pages
	OpWrite          = 1 // BLKIF_OP_WRITE: guest pages to disk
	OpWriteBarrier   = 2 // BLKIF_OP_WRITE_BARRIER: not offered
	OpFlushDiskcache = 3 // BLKIF_OP_FLUSH_DISKCACHE: flush, optionally then write
	OpReserved1      = 4 // BLKIF_OP_RESERVED_1: never valid
	OpDiscard        = 5 // BLKIF_OP_DISCARD: blkif_request_discard layout
	OpIndirect       = 6 // BLKIF_OP_INDIRECT: blkif_request_indirect layout
)

// Response status values (BLKIF_RSP_*, an int16 on the wire).
const (
	StatusOkay         int16 = 0  // BLKIF_RSP_OKAY
	StatusError        int16 = -1 // BLKIF_RSP_ERROR
	StatusNotSupported int16 = -2 // BLKIF_RSP_EOPNOTSUPP
)

// Wire sizes and limits (io/blkif.h, x86-64 layout).
const (
	// RequestSize is sizeof(blkif_request), the ring entry size (the
	// response is smaller).
	RequestSize = 112
	// ResponseSize is sizeof(blkif_response).
	ResponseSize = 16
	// SegmentSize is sizeof(blkif_request_segment).
	SegmentSize = 8
	// MaxSegments is BLKIF_MAX_SEGMENTS_PER_REQUEST.
	MaxSegments = 11
	// MaxIndirectPages is BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST.
	MaxIndirectPages = 8
	// SegmentsPerIndirectPage is how many segment structs one indirect
	// page holds.
	SegmentsPerIndirectPage = PageSize / SegmentSize
	// MaxIndirectSegments is the largest feature-max-indirect-segments
	// this backend accepts: eight full indirect pages.
	MaxIndirectSegments = MaxIndirectPages * SegmentsPerIndirectPage
	// SectorSize is the unit of every sector field on the wire, whatever
	// the disk's sector-size.
	SectorSize = 512
	// PageSize is the size of a granted page.
	PageSize = 4096
	// SectorsPerPage is the number of wire sectors in a page; last_sect
	// is below it.
	SectorsPerPage = PageSize / SectorSize
	// DiscardSecure is BLKIF_DISCARD_SECURE in blkif_request_discard.flag.
	DiscardSecure = 1 << 0
)

// Field offsets of the request layouts (checked against blkif.h by the
// layout test).
const (
	offOperation  = 0  // all layouts: operation u8
	offNrSegments = 1  // blkif_request: nr_segments u8
	offHandle     = 2  // blkif_request, discard: handle u16
	offID         = 8  // all layouts: id u64
	offSector     = 16 // all layouts: sector_number u64
	offSegments   = 24 // blkif_request: seg[11]
	offDiscardFlg = 1  // blkif_request_discard: flag u8
	offNrSectors  = 24 // blkif_request_discard: nr_sectors u64
	offIndirectOp = 1  // blkif_request_indirect: indirect_op u8
	offIndNrSegs  = 2  // blkif_request_indirect: nr_segments u16
	offIndHandle  = 24 // blkif_request_indirect: handle u16
	offIndGrefs   = 28 // blkif_request_indirect: indirect_grefs[8] u32

	offSegGref  = 0 // blkif_request_segment: gref u32
	offSegFirst = 4 // blkif_request_segment: first_sect u8
	offSegLast  = 5 // blkif_request_segment: last_sect u8

	offRspID     = 0  // blkif_response: id u64
	offRspOp     = 8  // blkif_response: operation u8
	offRspStatus = 10 // blkif_response: status i16
)

// Segment is one blkif_request_segment: sectors first..last (inclusive,
// 512-byte units) of the page granted by GrantRef.
type Segment struct {
	GrantRef  uint32 // gref: the granted page
	FirstSect uint8  // first_sect: first sector in the page
	LastSect  uint8  // last_sect: last sector in the page, inclusive
}

// valid reports whether first_sect <= last_sect < SectorsPerPage.
func (s Segment) valid() bool {
	return s.FirstSect <= s.LastSect && s.LastSect < SectorsPerPage
}

// sectors returns the number of sectors of a valid segment.
func (s Segment) sectors() uint64 { return uint64(s.LastSect-s.FirstSect) + 1 }

// decodeSegment reads a segment struct from b (at least SegmentSize bytes).
func decodeSegment(b []byte) Segment {
	return Segment{
		GrantRef:  binary.LittleEndian.Uint32(b[offSegGref:]),
		FirstSect: b[offSegFirst],
		LastSect:  b[offSegLast],
	}
}

// EncodeSegment writes s as a blkif_request_segment into b (SegmentSize
// bytes).
func EncodeSegment(b []byte, s Segment) {
	binary.LittleEndian.PutUint32(b[offSegGref:], s.GrantRef)
	b[offSegFirst] = s.FirstSect
	b[offSegLast] = s.LastSect
	b[6], b[7] = 0, 0
}

// Request is a decoded request: the fields of whichever layout its
// operation selects, copied out of the ring. Decode checks only what needs
// no disk or grant; see Validate.
type Request struct {
	Operation   uint8     // operation as sent (BLKIF_OP_*)
	ID          uint64    // id, echoed in the response
	Handle      uint16    // handle (vdev)
	Sector      uint64    // sector_number, 512-byte units
	NrSegments  int       // segment count (nr_segments of either layout)
	Segments    []Segment // direct segments (READ, WRITE, FLUSH_DISKCACHE)
	NrSectors   uint64    // DISCARD: nr_sectors
	Secure      bool      // DISCARD: BLKIF_DISCARD_SECURE (ignored: not offered)
	IndirectOp  uint8     // INDIRECT: indirect_op
	IndirectRef []uint32  // INDIRECT: the grefs of the indirect pages in use
}

// Effective returns the operation the request performs: indirect_op for
// INDIRECT, Operation otherwise. It is what the response echoes, as Linux
// blkfront checks.
func (r *Request) Effective() uint8 {
	if r.Operation == OpIndirect {
		return r.IndirectOp
	}
	return r.Operation
}

// DecodeRequest parses a ring entry (a private copy of at least RequestSize
// bytes). It never fails for an unknown operation: Validate reports that,
// so that the response still carries the request's id.
func DecodeRequest(b []byte) (Request, error) {
	var r Request
	err := decodeInto(&r, b)
	return r, err
}

// decodeInto is DecodeRequest into r, reusing the capacity of r's slices so
// that the data path does not allocate per request.
func decodeInto(r *Request, b []byte) error {
	segs, refs := r.Segments[:0], r.IndirectRef[:0]
	*r = Request{}
	if len(b) < RequestSize {
		return fmt.Errorf("%w: entry of %d bytes", ErrBadRequest, len(b))
	}
	r.Operation = b[offOperation]
	r.ID = binary.LittleEndian.Uint64(b[offID:])
	r.Sector = binary.LittleEndian.Uint64(b[offSector:])
	switch r.Operation {
	case OpDiscard:
		r.Handle = binary.LittleEndian.Uint16(b[offHandle:])
		r.Secure = b[offDiscardFlg]&DiscardSecure != 0
		r.NrSectors = binary.LittleEndian.Uint64(b[offNrSectors:])
		r.Segments, r.IndirectRef = segs, refs
	case OpIndirect:
		r.IndirectOp = b[offIndirectOp]
		r.NrSegments = int(binary.LittleEndian.Uint16(b[offIndNrSegs:]))
		r.Handle = binary.LittleEndian.Uint16(b[offIndHandle:])
		pages := (r.NrSegments + SegmentsPerIndirectPage - 1) / SegmentsPerIndirectPage
		if pages > MaxIndirectPages {
			pages = MaxIndirectPages // Validate rejects the count
		}
		for i := 0; i < pages; i++ {
			refs = append(refs, binary.LittleEndian.Uint32(b[offIndGrefs+4*i:]))
		}
		r.IndirectRef, r.Segments = refs, segs
	default:
		r.Handle = binary.LittleEndian.Uint16(b[offHandle:])
		r.NrSegments = int(b[offNrSegments])
		n := r.NrSegments
		if n > MaxSegments {
			n = MaxSegments // Validate rejects the count
		}
		for i := 0; i < n; i++ {
			segs = append(segs, decodeSegment(b[offSegments+SegmentSize*i:]))
		}
		r.Segments, r.IndirectRef = segs, refs
	}
	return nil
}

// EncodeRequest writes r in the layout its Operation selects into b
// (RequestSize bytes), zeroing the rest: the frontend side, for tests and
// guest-free checks.
func EncodeRequest(b []byte, r *Request) {
	clear(b[:RequestSize])
	b[offOperation] = r.Operation
	binary.LittleEndian.PutUint64(b[offID:], r.ID)
	binary.LittleEndian.PutUint64(b[offSector:], r.Sector)
	switch r.Operation {
	case OpDiscard:
		binary.LittleEndian.PutUint16(b[offHandle:], r.Handle)
		if r.Secure {
			b[offDiscardFlg] = DiscardSecure
		}
		binary.LittleEndian.PutUint64(b[offNrSectors:], r.NrSectors)
	case OpIndirect:
		b[offIndirectOp] = r.IndirectOp
		binary.LittleEndian.PutUint16(b[offIndNrSegs:], uint16(r.NrSegments))
		binary.LittleEndian.PutUint16(b[offIndHandle:], r.Handle)
		for i, g := range r.IndirectRef {
			if i < MaxIndirectPages {
				binary.LittleEndian.PutUint32(b[offIndGrefs+4*i:], g)
			}
		}
	default:
		binary.LittleEndian.PutUint16(b[offHandle:], r.Handle)
		b[offNrSegments] = uint8(r.NrSegments)
		for i, s := range r.Segments {
			if i < MaxSegments {
				EncodeSegment(b[offSegments+SegmentSize*i:], s)
			}
		}
	}
}

// Response is a blkif_response.
type Response struct {
	ID        uint64 // id: copied from the request
	Operation uint8  // operation: the request's effective operation
	Status    int16  // status: BLKIF_RSP_*
}

// Encode writes the response into b (ResponseSize bytes), padding zeroed.
func (r Response) Encode(b []byte) {
	clear(b[:ResponseSize])
	binary.LittleEndian.PutUint64(b[offRspID:], r.ID)
	b[offRspOp] = r.Operation
	binary.LittleEndian.PutUint16(b[offRspStatus:], uint16(r.Status))
}

// DecodeResponse parses a blkif_response (ResponseSize bytes).
func DecodeResponse(b []byte) Response {
	return Response{
		ID:        binary.LittleEndian.Uint64(b[offRspID:]),
		Operation: b[offRspOp],
		Status:    int16(binary.LittleEndian.Uint16(b[offRspStatus:])),
	}
}
