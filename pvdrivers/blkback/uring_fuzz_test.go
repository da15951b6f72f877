package blkback

import (
	"os"
	"testing"

	"github.com/xenolith/xenolith/hv/gnttab"
	"github.com/xenolith/xenolith/hv/mem"
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

// FuzzUringPersistent feeds arbitrary ring entries, in two batches, through
// the io_uring engine with persistent grants over a real grant table and
// guest memory: cached pages are read and written as io_uring registered
// buffers. No input may panic, every entry gets one response, memory that
// no grant covers is never written, every hold is gone after close, and
// the image keeps its size.
func FuzzUringPersistent(f *testing.F) {
	one := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	f.Add(one(rw(OpRead, 1, 0, Segment{1, 0, 7}), rw(OpWrite, 2, 8, Segment{2, 0, 7}),
		rw(OpRead, 3, 16, Segment{1, 2, 5}, Segment{3, 0, 7})))
	f.Add(one(rw(OpWrite, 4, 5, Segment{12, 0, 7}), rw(OpRead, 5, 9, Segment{12, 0, 0}),
		rw(OpFlushDiskcache, 6, 0, Segment{4, 0, 3}), rw(OpRead, 7, testSectors-1, Segment{5, 7, 7})))
	f.Add(one(entry(Request{Operation: OpIndirect, IndirectOp: OpRead, NrSegments: 2, ID: 9, IndirectRef: []uint32{6}}),
		rw(OpRead, 10, 0, Segment{99, 0, 7}), rw(OpWrite, 11, 0, Segment{7, 8, 9})))
	f.Fuzz(func(t *testing.T, batches []byte) {
		if err := iouring.Available(); err != nil {
			t.Skipf("io_uring: %v", err)
		}
		tab, ram, grant := newTestGrantTable(t)
		const firstFrame, refs = 20, 12
		for ref := uint32(1); ref <= refs; ref++ {
			grant(ref, firstFrame+ref-1, ref == refs)
		}
		for i := range ram[2*mem.PageSize:] {
			ram[2*mem.PageSize+i] = 0xee
		}
		before := append([]byte(nil), ram...)
		path := image(t, testSectors)
		file, err := OpenFile(path, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		d, err := NewDisk(file, TableGrants{Table: tab}, Config{Flush: true, Discard: true, MaxIndirectSegments: 64})
		if err != nil {
			t.Fatal(err)
		}
		const slots = 8
		e, err := newUringEngine(d, slots)
		if err != nil {
			t.Fatal(err)
		}
		e.persistent()
		n := 0
		for batch := 0; batch < 2 && len(batches) > 0; batch++ {
			for k := 0; k < slots && len(batches) > 0; k++ {
				ent := make([]byte, RequestSize)
				copy(ent, batches)
				batches = batches[min(len(batches), RequestSize):]
				if err := e.submit(ent); err != nil {
					t.Fatal(err)
				}
				n++
			}
			if err := e.flushSubmit(); err != nil {
				t.Fatal(err)
			}
			e.drain()
		}
		if len(e.out) != n || len(e.free) != slots {
			t.Fatalf("%d responses for %d requests, %d of %d slots free", len(e.out), n, len(e.free), slots)
		}
		e.close()
		for ref := uint32(0); ref < 512; ref++ {
			if fl := entryFlags(ram, ref); fl&(gnttab.GTFReading|gnttab.GTFWriting) != 0 {
				t.Fatalf("ref %d flags %#x after close", ref, fl)
			}
		}
		// Only the writable granted frames may have changed (the grant
		// table frame holds the entries and their flags).
		for pg := 0; pg < len(ram)/mem.PageSize; pg++ {
			if pg == 1 || pg >= firstFrame && pg < firstFrame+refs-1 {
				continue
			}
			if string(ram[pg*mem.PageSize:(pg+1)*mem.PageSize]) != string(before[pg*mem.PageSize:(pg+1)*mem.PageSize]) {
				t.Fatalf("page %d changed, which no writable grant covers", pg)
			}
		}
		if st, err := os.Stat(path); err != nil || st.Size() != testSectors*SectorSize {
			t.Fatalf("image: %v, size changed", err)
		}
	})
}
