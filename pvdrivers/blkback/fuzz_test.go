package blkback

import (
	"testing"
)

// FuzzRequest feeds arbitrary ring entries (and arbitrary guest memory, which
// indirect pages are read from) through decode, validation and execution
// against fake grants and storage that fail the test on any access outside a
// granted page or outside the image. No input may panic, every response must
// echo the request's id, and every grant must be released.
func FuzzRequest(f *testing.F) {
	seeds := [][]byte{
		rw(OpRead, 1, 0, Segment{1, 0, 7}),
		rw(OpWrite, 2, testSectors-1, Segment{2, 7, 7}),
		rw(OpWrite, 3, 5, Segment{1, 0, 7}, Segment{2, 3, 4}, Segment{3, 0, 0}),
		rw(OpRead, 4, 0, Segment{1, 5, 2}),
		rw(OpFlushDiskcache, 5, 0),
		rw(OpFlushDiskcache, 6, 9, Segment{4, 0, 3}),
		entry(Request{Operation: OpDiscard, ID: 7, Sector: 10, NrSectors: 20}),
		entry(Request{Operation: OpDiscard, ID: 8, Sector: 1 << 60, NrSectors: 1 << 63}),
		entry(Request{Operation: OpIndirect, IndirectOp: OpWrite, NrSegments: 3, ID: 9, IndirectRef: []uint32{5}}),
		entry(Request{Operation: OpIndirect, IndirectOp: OpRead, NrSegments: 600, ID: 10, IndirectRef: []uint32{5, 6}}),
		rw(OpWriteBarrier, 11, 0, Segment{1, 0, 7}),
	}
	mem := make([]byte, 64)
	EncodeSegment(mem, Segment{3, 0, 7})
	EncodeSegment(mem[8:], Segment{7, 2, 9})
	EncodeSegment(mem[16:], Segment{200, 0, 0})
	for _, s := range seeds {
		f.Add(s, mem, false)
	}
	f.Add(make([]byte, RequestSize), []byte{}, true)
	f.Fuzz(func(t *testing.T, req, guest []byte, ro bool) {
		if len(req) < RequestSize {
			req = append(req, make([]byte, RequestSize-len(req))...)
		}
		st := &memStorage{t: t, data: make([]byte, testSectors*SectorSize), ro: ro}
		g := newFakeGrants(t, 16)
		g.readOnly[15] = true
		// Guest memory: the fuzzer's bytes repeated in the indirect pages 5
		// and 6, so indirect segments are arbitrary too.
		for i := 5 * PageSize; i < 7*PageSize && len(guest) > 0; i++ {
			g.mem[i] = guest[i%len(guest)]
		}
		d, err := NewDisk(st, g, Config{Flush: true, Discard: true, MaxIndirectSegments: 1024})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := DecodeRequest(req)
		rsp := d.Handle(req)
		if rsp.ID != r.ID {
			t.Fatalf("response id %#x for request id %#x", rsp.ID, r.ID)
		}
		if rsp.Status != StatusOkay && rsp.Status != StatusError && rsp.Status != StatusNotSupported {
			t.Fatalf("status %d", rsp.Status)
		}
		g.checkReleased()
	})
}
