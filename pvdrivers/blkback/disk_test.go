package blkback

import (
	"bytes"
	"math"
	"testing"
)

const testSectors = 256 // 128 KiB disk

// setup returns a disk over a memStorage of testSectors sectors and fake
// grants over 64 guest pages.
func setup(t *testing.T, cfg Config, ro bool) (*Disk, *memStorage, *fakeGrants) {
	t.Helper()
	st := &memStorage{t: t, data: make([]byte, testSectors*SectorSize), ro: ro}
	for i := range st.data {
		st.data[i] = byte(i*7 + i/SectorSize)
	}
	g := newFakeGrants(t, 64)
	d, err := NewDisk(st, g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, st, g
}

var allFeatures = Config{Flush: true, Discard: true, MaxIndirectSegments: 64}

func entry(r Request) []byte {
	b := make([]byte, RequestSize)
	if r.NrSegments == 0 && r.Operation != OpIndirect {
		r.NrSegments = len(r.Segments)
	}
	EncodeRequest(b, &r)
	return b
}

func rw(op uint8, id, sector uint64, segs ...Segment) []byte {
	return entry(Request{Operation: op, ID: id, Sector: sector, Segments: segs})
}

func TestReadWrite(t *testing.T) {
	d, st, g := setup(t, allFeatures, false)
	// Guest pages 1..3 carry a pattern; write sectors 2..3 of page 1, all of
	// page 2 and sector 5 of page 3 to disk sectors 10.. (11 sectors).
	for i := PageSize; i < 4*PageSize; i++ {
		g.mem[i] = byte(i ^ 0x5a)
	}
	segs := []Segment{{1, 2, 3}, {2, 0, 7}, {3, 5, 5}}
	rsp := d.Handle(rw(OpWrite, 42, 10, segs...))
	if rsp != (Response{ID: 42, Operation: OpWrite, Status: StatusOkay}) {
		t.Fatalf("write: %+v", rsp)
	}
	want := append(append(append([]byte{}, g.mem[PageSize+1024:PageSize+2048]...), g.mem[2*PageSize:3*PageSize]...), g.mem[3*PageSize+2560:3*PageSize+3072]...)
	if got := st.data[10*SectorSize : 21*SectorSize]; !bytes.Equal(got, want) {
		t.Fatal("disk contents differ from the written pages")
	}
	// Read them back into pages 10..12 at the same offsets.
	rsegs := []Segment{{10, 2, 3}, {11, 0, 7}, {12, 5, 5}}
	if rsp := d.Handle(rw(OpRead, 43, 10, rsegs...)); rsp.Status != StatusOkay || rsp.Operation != OpRead || rsp.ID != 43 {
		t.Fatalf("read: %+v", rsp)
	}
	got := append(append(append([]byte{}, g.mem[10*PageSize+1024:10*PageSize+2048]...), g.mem[11*PageSize:12*PageSize]...), g.mem[12*PageSize+2560:12*PageSize+3072]...)
	if !bytes.Equal(got, want) {
		t.Fatal("read back differs")
	}
	// Bytes of page 10 outside the segment are untouched.
	if g.mem[10*PageSize+1023] != 0 || g.mem[10*PageSize+2048] != 0 {
		t.Fatal("read wrote outside its segment")
	}
	// The last sector of the disk is reachable.
	if rsp := d.Handle(rw(OpRead, 1, testSectors-1, Segment{4, 7, 7})); rsp.Status != StatusOkay {
		t.Fatalf("read last sector: %+v", rsp)
	}
	g.checkReleased()
}

func TestIndirect(t *testing.T) {
	d, st, g := setup(t, allFeatures, false)
	// 20 segments of pages 20..39, described in indirect page 5.
	const n = 20
	for i := 0; i < n; i++ {
		EncodeSegment(g.mem[5*PageSize+SegmentSize*i:], Segment{uint32(20 + i), 0, 7})
		for j := 0; j < PageSize; j++ {
			g.mem[(20+i)*PageSize+j] = byte(i + j)
		}
	}
	r := Request{Operation: OpIndirect, IndirectOp: OpWrite, NrSegments: n, ID: 9, Sector: 16, IndirectRef: []uint32{5}}
	if rsp := d.Handle(entry(r)); rsp != (Response{ID: 9, Operation: OpWrite}) {
		t.Fatalf("indirect write: %+v", rsp)
	}
	if !bytes.Equal(st.data[16*SectorSize:(16+8*n)*SectorSize], g.mem[20*PageSize:40*PageSize]) {
		t.Fatal("indirect write contents")
	}
	clear(g.mem[20*PageSize : 40*PageSize])
	r.IndirectOp = OpRead
	if rsp := d.Handle(entry(r)); rsp.Status != StatusOkay || rsp.Operation != OpRead {
		t.Fatalf("indirect read: %+v", rsp)
	}
	if !bytes.Equal(st.data[16*SectorSize:(16+8*n)*SectorSize], g.mem[20*PageSize:40*PageSize]) {
		t.Fatal("indirect read contents")
	}
	// A bad segment inside the indirect page is rejected.
	EncodeSegment(g.mem[5*PageSize+SegmentSize*3:], Segment{23, 6, 2})
	if rsp := d.Handle(entry(r)); rsp.Status != StatusError {
		t.Fatalf("bad indirect segment: %+v", rsp)
	}
	g.checkReleased()
}

func TestFlushAndDiscard(t *testing.T) {
	d, st, g := setup(t, allFeatures, false)
	if rsp := d.Handle(entry(Request{Operation: OpFlushDiskcache, ID: 5})); rsp != (Response{ID: 5, Operation: OpFlushDiskcache}) {
		t.Fatalf("flush: %+v", rsp)
	}
	if st.flushes != 1 {
		t.Fatalf("%d flushes", st.flushes)
	}
	// A flush with data flushes before and after its write.
	g.mem[7*PageSize] = 0xee
	if rsp := d.Handle(rw(OpFlushDiskcache, 6, 3, Segment{7, 0, 0})); rsp.Status != StatusOkay {
		t.Fatalf("flush with data: %+v", rsp)
	}
	if st.flushes != 3 || st.data[3*SectorSize] != 0xee {
		t.Fatalf("flush with data: %d flushes, byte %#x", st.flushes, st.data[3*SectorSize])
	}
	if rsp := d.Handle(entry(Request{Operation: OpDiscard, ID: 8, Sector: 4, NrSectors: 3})); rsp != (Response{ID: 8, Operation: OpDiscard}) {
		t.Fatalf("discard: %+v", rsp)
	}
	if !bytes.Equal(st.data[4*SectorSize:7*SectorSize], make([]byte, 3*SectorSize)) || st.data[7*SectorSize] == 0 {
		t.Fatal("discard contents")
	}
}

func TestReadOnly(t *testing.T) {
	d, _, g := setup(t, allFeatures, true)
	tests := []struct {
		name string
		e    []byte
		want int16
	}{
		{"read", rw(OpRead, 1, 0, Segment{1, 0, 7}), StatusOkay},
		{"write", rw(OpWrite, 1, 0, Segment{1, 0, 7}), StatusError},
		{"flush", entry(Request{Operation: OpFlushDiskcache}), StatusOkay},
		{"flush with data", rw(OpFlushDiskcache, 1, 0, Segment{1, 0, 7}), StatusError},
		{"discard", entry(Request{Operation: OpDiscard, NrSectors: 1}), StatusError},
	}
	for _, tt := range tests {
		if rsp := d.Handle(tt.e); rsp.Status != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, rsp.Status, tt.want)
		}
	}
	g.checkReleased()
}

func TestValidation(t *testing.T) {
	indirect := func(op uint8, n int, refs ...uint32) []byte {
		return entry(Request{Operation: OpIndirect, IndirectOp: op, NrSegments: n, IndirectRef: refs})
	}
	raw := func(op, nseg uint8) []byte {
		b := make([]byte, RequestSize)
		b[0], b[1] = op, nseg
		return b
	}
	tests := []struct {
		name string
		cfg  Config
		e    []byte
		want int16
	}{
		{"read no segments", allFeatures, raw(OpRead, 0), StatusError},
		{"write 12 segments", allFeatures, raw(OpWrite, 12), StatusError},
		{"read 255 segments", allFeatures, raw(OpRead, 255), StatusError},
		{"first after last", allFeatures, rw(OpRead, 0, 0, Segment{1, 4, 3}), StatusError},
		{"last sect 8", allFeatures, rw(OpRead, 0, 0, Segment{1, 0, 8}), StatusError},
		{"last sect 255", allFeatures, rw(OpWrite, 0, 0, Segment{1, 255, 255}), StatusError},
		{"past the end", allFeatures, rw(OpRead, 0, testSectors, Segment{1, 0, 0}), StatusError},
		{"straddles the end", allFeatures, rw(OpRead, 0, testSectors-1, Segment{1, 0, 1}), StatusError},
		{"sector overflow", allFeatures, rw(OpWrite, 0, math.MaxUint64, Segment{1, 0, 0}), StatusError},
		{"sector near overflow", allFeatures, rw(OpRead, 0, math.MaxUint64/SectorSize+1, Segment{1, 0, 0}), StatusError},
		{"bad gref", allFeatures, rw(OpRead, 0, 0, Segment{1000, 0, 0}), StatusError},
		{"read into read-only grant", allFeatures, rw(OpRead, 0, 0, Segment{63, 0, 0}), StatusError},
		{"write from read-only grant", allFeatures, rw(OpWrite, 0, 0, Segment{63, 0, 0}), StatusOkay},
		{"barrier", allFeatures, raw(OpWriteBarrier, 1), StatusNotSupported},
		{"reserved", allFeatures, raw(OpReserved1, 1), StatusNotSupported},
		{"unknown", allFeatures, raw(200, 1), StatusNotSupported},
		{"flush not offered", Config{}, raw(OpFlushDiskcache, 0), StatusNotSupported},
		{"flush 12 segments", allFeatures, raw(OpFlushDiskcache, 12), StatusError},
		{"discard not offered", Config{}, entry(Request{Operation: OpDiscard, NrSectors: 1}), StatusNotSupported},
		{"discard past the end", allFeatures, entry(Request{Operation: OpDiscard, Sector: 200, NrSectors: 57}), StatusError},
		{"discard overflow", allFeatures, entry(Request{Operation: OpDiscard, Sector: 1, NrSectors: math.MaxUint64}), StatusError},
		{"discard whole disk", allFeatures, entry(Request{Operation: OpDiscard, NrSectors: testSectors}), StatusOkay},
		{"indirect not offered", Config{}, indirect(OpRead, 1, 2), StatusNotSupported},
		{"indirect flush", allFeatures, indirect(OpFlushDiskcache, 1, 2), StatusError},
		{"indirect discard", allFeatures, indirect(OpDiscard, 1, 2), StatusError},
		{"indirect zero segments", allFeatures, indirect(OpRead, 0, 2), StatusError},
		{"indirect above max", allFeatures, indirect(OpRead, 65, 2), StatusError},
		{"indirect above 8 pages", allFeatures, indirect(OpRead, 65535, 2), StatusError},
		{"indirect bad page ref", allFeatures, indirect(OpRead, 1, 1000), StatusError},
		{"indirect zero segment ok", allFeatures, indirect(OpRead, 1, 2), StatusOkay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memStorage{t: t, data: make([]byte, testSectors*SectorSize)}
			g := newFakeGrants(t, 64)
			g.readOnly[63] = true
			d, err := NewDisk(st, g, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			binaryID := uint64(0x77)
			copy(tt.e[8:16], []byte{0x77, 0, 0, 0, 0, 0, 0, 0})
			rsp := d.Handle(tt.e)
			if rsp.Status != tt.want || rsp.ID != binaryID {
				t.Errorf("status %d id %#x, want %d id 0x77", rsp.Status, rsp.ID, tt.want)
			}
			g.checkReleased()
		})
	}
}

func TestIOError(t *testing.T) {
	d, st, _ := setup(t, allFeatures, false)
	st.fail = true
	for _, e := range [][]byte{rw(OpRead, 0, 0, Segment{1, 0, 7}), rw(OpWrite, 0, 0, Segment{1, 0, 7}), entry(Request{Operation: OpFlushDiskcache}), entry(Request{Operation: OpDiscard, NrSectors: 1})} {
		if rsp := d.Handle(e); rsp.Status != StatusError {
			t.Errorf("op %d with failing storage: status %d", e[0], rsp.Status)
		}
	}
}

func TestNewDiskErrors(t *testing.T) {
	st := &memStorage{t: t, data: make([]byte, 1000)}
	if _, err := NewDisk(st, newFakeGrants(t, 1), Config{}); err == nil {
		t.Error("size not a multiple of 512 accepted")
	}
	st.data = make([]byte, 1024)
	if _, err := NewDisk(st, newFakeGrants(t, 1), Config{MaxIndirectSegments: MaxIndirectSegments + 1}); err == nil {
		t.Error("too many indirect segments accepted")
	}
}
