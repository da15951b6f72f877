package blkback

import (
	"encoding/binary"
	"testing"
)

// field is one field of a wire struct: its offset and size per io/blkif.h
// (x86-64), and the value the test puts there.
type field struct {
	name      string
	off, size int
	val       uint64
}

// checkFields checks that b holds each field's value little-endian at its
// offset, and zeros everywhere else.
func checkFields(t *testing.T, what string, b []byte, fields []field) {
	t.Helper()
	covered := make([]bool, len(b))
	for _, f := range fields {
		var got uint64
		for i := f.size - 1; i >= 0; i-- {
			got = got<<8 | uint64(b[f.off+i])
			covered[f.off+i] = true
		}
		if got != f.val {
			t.Errorf("%s.%s @%d/%d = %#x, want %#x", what, f.name, f.off, f.size, got, f.val)
		}
	}
	for i, c := range covered {
		if !c && b[i] != 0 {
			t.Errorf("%s: byte %d = %#x outside every field", what, i, b[i])
		}
	}
}

func TestLayoutRequest(t *testing.T) {
	r := Request{Operation: OpWrite, NrSegments: 11, Handle: 0xcafe, ID: 0x1122334455667788, Sector: 0x0102030405060708}
	fields := []field{
		{"operation", 0, 1, OpWrite}, {"nr_segments", 1, 1, 11}, {"handle", 2, 2, 0xcafe},
		{"id", 8, 8, 0x1122334455667788}, {"sector_number", 16, 8, 0x0102030405060708},
	}
	for i := 0; i < MaxSegments; i++ {
		s := Segment{GrantRef: 0xa0000000 + uint32(i), FirstSect: uint8(i % 8), LastSect: 7}
		r.Segments = append(r.Segments, s)
		base := 24 + 8*i
		fields = append(fields, field{"seg.gref", base, 4, uint64(s.GrantRef)},
			field{"seg.first_sect", base + 4, 1, uint64(s.FirstSect)}, field{"seg.last_sect", base + 5, 1, 7})
	}
	b := make([]byte, RequestSize)
	EncodeRequest(b, &r)
	checkFields(t, "blkif_request", b, fields)
	if 24+8*MaxSegments != RequestSize {
		t.Errorf("seg[11] ends at %d, want %d", 24+8*MaxSegments, RequestSize)
	}
	got, err := DecodeRequest(b)
	if err != nil || got.ID != r.ID || got.Sector != r.Sector || got.Handle != r.Handle || len(got.Segments) != 11 || got.Segments[10] != r.Segments[10] {
		t.Errorf("round trip: %+v, %v", got, err)
	}
}

func TestLayoutDiscard(t *testing.T) {
	r := Request{Operation: OpDiscard, Secure: true, Handle: 0x1234, ID: 0xdeadbeef, Sector: 99, NrSectors: 0x55aa}
	b := make([]byte, RequestSize)
	EncodeRequest(b, &r)
	checkFields(t, "blkif_request_discard", b, []field{
		{"operation", 0, 1, OpDiscard}, {"flag", 1, 1, DiscardSecure}, {"handle", 2, 2, 0x1234},
		{"id", 8, 8, 0xdeadbeef}, {"sector_number", 16, 8, 99}, {"nr_sectors", 24, 8, 0x55aa},
	})
	got, _ := DecodeRequest(b)
	if got.NrSectors != 0x55aa || !got.Secure || got.Handle != 0x1234 {
		t.Errorf("round trip: %+v", got)
	}
}

func TestLayoutIndirect(t *testing.T) {
	r := Request{Operation: OpIndirect, IndirectOp: OpRead, NrSegments: 4096, Handle: 0x4321, ID: 7, Sector: 8}
	fields := []field{
		{"operation", 0, 1, OpIndirect}, {"indirect_op", 1, 1, OpRead}, {"nr_segments", 2, 2, 4096},
		{"id", 8, 8, 7}, {"sector_number", 16, 8, 8}, {"handle", 24, 2, 0x4321},
	}
	for i := 0; i < MaxIndirectPages; i++ {
		r.IndirectRef = append(r.IndirectRef, 0x100+uint32(i))
		fields = append(fields, field{"indirect_grefs", 28 + 4*i, 4, 0x100 + uint64(i)})
	}
	b := make([]byte, RequestSize)
	EncodeRequest(b, &r)
	checkFields(t, "blkif_request_indirect", b[:64], fields)
	got, _ := DecodeRequest(b)
	if got.NrSegments != 4096 || len(got.IndirectRef) != 8 || got.IndirectRef[7] != 0x107 || got.Effective() != OpRead {
		t.Errorf("round trip: %+v", got)
	}
	// Pages in use follow nr_segments.
	binary.LittleEndian.PutUint16(b[2:], 513)
	if got, _ := DecodeRequest(b); len(got.IndirectRef) != 2 {
		t.Errorf("513 segments use %d pages, want 2", len(got.IndirectRef))
	}
}

func TestLayoutResponse(t *testing.T) {
	b := make([]byte, ResponseSize)
	Response{ID: 0x0102030405060708, Operation: OpFlushDiskcache, Status: StatusNotSupported}.Encode(b)
	checkFields(t, "blkif_response", b, []field{
		{"id", 0, 8, 0x0102030405060708}, {"operation", 8, 1, OpFlushDiskcache}, {"status", 10, 2, 0xfffe},
	})
	if r := DecodeResponse(b); r.Status != StatusNotSupported || r.ID != 0x0102030405060708 {
		t.Errorf("round trip: %+v", r)
	}
}

func TestDecodeShort(t *testing.T) {
	if _, err := DecodeRequest(make([]byte, RequestSize-1)); err == nil {
		t.Fatal("short entry decoded")
	}
}
