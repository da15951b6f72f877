package blkback

import (
	"testing"

	"github.com/xenolith/xenolith/internal/iouring"
)

// FuzzUringBatch feeds arbitrary ring entries, several at a time, through
// the io_uring engine over a real image file: decode, validation, grant
// acquisition, submission and completion. No input may panic, every entry
// gets exactly one response echoing its id, and every grant is released.
func FuzzUringBatch(f *testing.F) {
	one := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	f.Add(one(rw(OpRead, 1, 0, Segment{1, 0, 7}), rw(OpWrite, 2, 8, Segment{2, 0, 7})), false)
	f.Add(one(rw(OpWrite, 3, 5, Segment{1, 0, 7}, Segment{2, 3, 4}), rw(OpFlushDiskcache, 4, 0),
		rw(OpFlushDiskcache, 5, 9, Segment{4, 0, 3})), false)
	f.Add(one(entry(Request{Operation: OpDiscard, ID: 7, Sector: 10, NrSectors: 20}),
		entry(Request{Operation: OpDiscard, ID: 8, Sector: 1 << 60, NrSectors: 1 << 63})), false)
	f.Add(one(rw(OpRead, 4, testSectors-1, Segment{1, 0, 7}), rw(OpWrite, 9, 0, Segment{15, 0, 7})), true)
	f.Add(one(entry(Request{Operation: OpIndirect, IndirectOp: OpRead, NrSegments: 3, ID: 9, IndirectRef: []uint32{5}})), false)
	f.Fuzz(func(t *testing.T, batch []byte, ro bool) {
		if err := iouring.Available(); err != nil {
			t.Skipf("io_uring: %v", err)
		}
		f, err := OpenFile(image(t, testSectors), FileOptions{ReadOnly: ro})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		g := newFakeGrants(t, 16)
		g.readOnly[15] = true
		d, err := NewDisk(f, g, Config{Flush: true, Discard: true, MaxIndirectSegments: 64})
		if err != nil {
			t.Fatal(err)
		}
		const slots = 8
		e, err := newUringEngine(d, slots)
		if err != nil {
			t.Fatal(err)
		}
		defer e.close()
		ids := map[uint64]int{}
		n := 0
		for len(batch) > 0 && n < slots {
			ent := make([]byte, RequestSize)
			copy(ent, batch)
			batch = batch[min(len(batch), RequestSize):]
			r, _ := DecodeRequest(ent)
			ids[r.ID]++
			if err := e.submit(ent); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := e.flushSubmit(); err != nil {
			t.Fatal(err)
		}
		e.drain()
		if len(e.out) != n {
			t.Fatalf("%d responses for %d requests", len(e.out), n)
		}
		for _, r := range e.out {
			if ids[r.ID] == 0 {
				t.Fatalf("response for unknown id %#x", r.ID)
			}
			ids[r.ID]--
			if r.Status != StatusOkay && r.Status != StatusError && r.Status != StatusNotSupported {
				t.Fatalf("status %d", r.Status)
			}
		}
		if len(e.free) != slots {
			t.Fatalf("%d of %d slots free", len(e.free), slots)
		}
		g.checkReleased()
	})
}
