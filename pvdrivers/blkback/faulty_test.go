package blkback

import (
	"bytes"
	"errors"
	"sync"
	"syscall"
	"testing"
)

// memImage is a minimal in-memory Storage that counts what reached it.
type memImage struct {
	mu      sync.Mutex
	data    []byte
	reads   int
	writes  int
	flushes int
	discard int
}

func newMemImage(sectors int) *memImage { return &memImage{data: make([]byte, sectors*SectorSize)} }

func (m *memImage) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	return copy(p, m.data[off:]), nil
}

func (m *memImage) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	return copy(m.data[off:], p), nil
}

func (m *memImage) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flushes++
	return nil
}

func (m *memImage) Discard(off, length int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.discard++
	clear(m.data[off : off+length])
	return nil
}

func (m *memImage) Size() int64    { return int64(len(m.data)) }
func (m *memImage) ReadOnly() bool { return false }

// faultStep is one storage operation and whether it must fail.
type faultStep struct {
	op     FaultOp
	sector int64 // first sector
	n      int64 // sectors (ignored for flush)
	fail   bool
}

func TestFaultyRules(t *testing.T) {
	tests := []struct {
		name  string
		rules []FaultRule
		steps []faultStep
	}{
		{"no rules", nil, []faultStep{
			{FaultRead, 0, 1, false}, {FaultWrite, 5, 3, false}, {FaultFlush, 0, 0, false}, {FaultDiscard, 0, 8, false},
		}},
		{"write range", []FaultRule{{Ops: FaultWrite, FirstSector: 10, Sectors: 4}}, []faultStep{
			{FaultWrite, 0, 10, false},   // ends just before
			{FaultWrite, 0, 11, true},    // overlaps the first sector
			{FaultWrite, 13, 1, true},    // the last sector
			{FaultWrite, 14, 8, false},   // starts just after
			{FaultWrite, 8, 16, true},    // covers the range
			{FaultRead, 10, 4, false},    // reads pass
			{FaultFlush, 0, 0, false},    // a ranged rule never fails flushes
			{FaultDiscard, 10, 4, false}, // nor discards
		}},
		{"reads and writes", []FaultRule{{Ops: FaultRead | FaultWrite, FirstSector: 0, Sectors: 1}}, []faultStep{
			{FaultRead, 0, 1, true}, {FaultWrite, 0, 1, true}, {FaultRead, 1, 1, false},
		}},
		{"flush after two, once", []FaultRule{{Ops: FaultFlush, After: 2, Times: 1}}, []faultStep{
			{FaultFlush, 0, 0, false}, {FaultFlush, 0, 0, false}, {FaultFlush, 0, 0, true}, {FaultFlush, 0, 0, false},
		}},
		{"every write after three", []FaultRule{{Ops: FaultWrite, After: 3}}, []faultStep{
			{FaultWrite, 0, 1, false}, {FaultRead, 0, 1, false}, {FaultWrite, 9, 1, false}, {FaultWrite, 3, 1, false},
			{FaultWrite, 4, 1, true}, {FaultWrite, 100, 1, true}, {FaultRead, 0, 1, false},
		}},
		{"discard range twice", []FaultRule{{Ops: FaultDiscard, FirstSector: 64, Sectors: 64, Times: 2}}, []faultStep{
			{FaultDiscard, 0, 64, false}, {FaultDiscard, 0, 65, true}, {FaultDiscard, 127, 1, true}, {FaultDiscard, 64, 1, false},
		}},
		{"range at the top of the address space", []FaultRule{{Ops: FaultRead, FirstSector: 1<<64 - 2, Sectors: 1 << 63}}, []faultStep{
			{FaultRead, 0, 255, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inner := newMemImage(256)
			f := NewFaulty(inner, tc.rules...)
			want := map[FaultOp]uint64{}
			buf := make([]byte, 256*SectorSize)
			for i, s := range tc.steps {
				var err error
				off, n := s.sector*SectorSize, s.n*SectorSize
				switch s.op {
				case FaultRead:
					_, err = f.ReadAt(buf[:n], off)
				case FaultWrite:
					_, err = f.WriteAt(buf[:n], off)
				case FaultFlush:
					err = f.Flush()
				case FaultDiscard:
					err = f.Discard(off, n)
				}
				if (err != nil) != s.fail {
					t.Errorf("step %d (%s sector %d+%d): err %v, want failure %v", i, s.op, s.sector, s.n, err, s.fail)
				}
				if err != nil && !errors.Is(err, syscall.EIO) {
					t.Errorf("step %d: %v does not wrap EIO", i, err)
				}
				if s.fail {
					want[s.op]++
				}
			}
			for _, op := range []FaultOp{FaultRead, FaultWrite, FaultFlush, FaultDiscard} {
				if got := f.Injected(op); got != want[op] {
					t.Errorf("Injected(%s) = %d, want %d", op, got, want[op])
				}
			}
			var passed [4]int
			for _, s := range tc.steps {
				if !s.fail {
					passed[map[FaultOp]int{FaultRead: 0, FaultWrite: 1, FaultFlush: 2, FaultDiscard: 3}[s.op]]++
				}
			}
			if got := [4]int{inner.reads, inner.writes, inner.flushes, inner.discard}; got != passed {
				t.Errorf("operations reaching the inner storage %v, want %v (failed ones must not)", got, passed)
			}
		})
	}
}

// TestFaultyDisk runs blkif requests through a Disk over a Faulty: the
// failing ones get BLKIF_RSP_ERROR, the others succeed with their data.
func TestFaultyDisk(t *testing.T) {
	inner := newMemImage(testSectors)
	f := NewFaulty(inner, FaultRule{Ops: FaultWrite | FaultRead, FirstSector: 16, Sectors: 8}, FaultRule{Ops: FaultFlush, After: 1, Times: 1})
	g := newFakeGrants(t, 8)
	d, err := NewDisk(f, g, allFeatures)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g.mem[PageSize : 2*PageSize] {
		g.mem[PageSize+i] = byte(i*3 + 1)
	}
	page := Segment{1, 0, 7}
	tests := []struct {
		name string
		req  []byte
		want int16
	}{
		{"write before the range", rw(OpWrite, 1, 8, page), StatusOkay},
		{"write into the range", rw(OpWrite, 2, 12, page), StatusError},
		{"read of the range", rw(OpRead, 3, 16, Segment{2, 0, 7}), StatusError},
		{"flush 1 passes", entry(Request{Operation: OpFlushDiskcache, ID: 4}), StatusOkay},
		{"flush 2 fails", entry(Request{Operation: OpFlushDiskcache, ID: 5}), StatusError},
		{"flush 3 passes", entry(Request{Operation: OpFlushDiskcache, ID: 6}), StatusOkay},
		{"write after the range", rw(OpWrite, 7, 24, page), StatusOkay},
		{"read after the range", rw(OpRead, 8, 24, Segment{3, 0, 7}), StatusOkay},
	}
	for _, tc := range tests {
		rsp := d.Handle(tc.req)
		if rsp.Status != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, rsp.Status, tc.want)
		}
	}
	if !bytes.Equal(inner.data[8*SectorSize:16*SectorSize], g.mem[PageSize:2*PageSize]) ||
		!bytes.Equal(inner.data[24*SectorSize:32*SectorSize], g.mem[PageSize:2*PageSize]) {
		t.Error("the writes outside the failing range did not land")
	}
	if !bytes.Equal(g.mem[3*PageSize:4*PageSize], g.mem[PageSize:2*PageSize]) {
		t.Error("the read outside the failing range returned wrong data")
	}
	if got := inner.data[16*SectorSize : 20*SectorSize]; !bytes.Equal(got, make([]byte, len(got))) {
		t.Error("a failed write reached the storage")
	}
	if f.Injected(FaultWrite) != 1 || f.Injected(FaultRead) != 1 || f.Injected(FaultFlush) != 1 {
		t.Errorf("injected: write %d read %d flush %d, want 1 each", f.Injected(FaultWrite), f.Injected(FaultRead), f.Injected(FaultFlush))
	}
	g.checkReleased()
}

func TestVolatile(t *testing.T) {
	inner := newMemImage(64)
	v := NewVolatile(inner)
	sector := func(b byte) []byte { return bytes.Repeat([]byte{b}, SectorSize) }
	read := func(s int64) []byte {
		p := make([]byte, SectorSize)
		if _, err := v.ReadAt(p, s*SectorSize); err != nil {
			t.Fatalf("read sector %d: %v", s, err)
		}
		return p
	}
	write := func(s int64, b byte) {
		if _, err := v.WriteAt(sector(b), s*SectorSize); err != nil {
			t.Fatalf("write sector %d: %v", s, err)
		}
	}
	write(1, 0xaa)
	write(2, 0xbb)
	if !bytes.Equal(read(1), sector(0xaa)) || inner.writes != 0 {
		t.Fatal("a write must read back from the cache without reaching the inner storage")
	}
	if err := v.Flush(); err != nil {
		t.Fatal(err)
	}
	if v.Dirty() != 0 || inner.flushes != 1 || !bytes.Equal(inner.data[SectorSize:2*SectorSize], sector(0xaa)) {
		t.Fatalf("flush: %d dirty, %d inner flushes", v.Dirty(), inner.flushes)
	}
	write(1, 0xcc) // unflushed overwrite
	write(3, 0xdd) // unflushed new sector
	v.PowerCut()
	if !bytes.Equal(inner.data[SectorSize:2*SectorSize], sector(0xaa)) || !bytes.Equal(inner.data[3*SectorSize:4*SectorSize], sector(0)) {
		t.Error("unflushed writes reached the inner storage")
	}
	for name, err := range map[string]error{
		"read":    func() error { _, err := v.ReadAt(make([]byte, SectorSize), 0); return err }(),
		"write":   func() error { _, err := v.WriteAt(sector(1), 0); return err }(),
		"flush":   v.Flush(),
		"discard": v.Discard(0, SectorSize),
	} {
		if err == nil {
			t.Errorf("%s after the power cut succeeded", name)
		}
	}
	if _, err := NewVolatile(inner).WriteAt(make([]byte, 100), 0); err == nil {
		t.Error("a partial-sector write was accepted")
	}
}

// TestVolatileConcurrent races writes and flushes: after the last flush the
// inner storage holds each sector's last write.
func TestVolatileConcurrent(t *testing.T) {
	inner := newMemImage(32)
	v := NewVolatile(inner)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				s := int64(w*8 + i%8)
				if _, err := v.WriteAt(bytes.Repeat([]byte{byte(i)}, SectorSize), s*SectorSize); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 {
					if err := v.Flush(); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := v.Flush(); err != nil {
		t.Fatal(err)
	}
	for w := range 4 {
		for j := range 8 {
			s := w*8 + j
			last := byte(192 + j) // the last i in 0..199 with i%8 == j
			if inner.data[s*SectorSize] != last {
				t.Errorf("sector %d holds %d, want %d", s, inner.data[s*SectorSize], last)
			}
		}
	}
}
