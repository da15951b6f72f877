package blkback

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/xenolith/xenolith/hv/gnttab"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/internal/iouring"
)

// newTestGrantTable returns a grant table over 64 pages of guest memory with
// frame 0 of the table at page 1, and a function granting ref on frame to
// domain 0 (read-only if ro).
func newTestGrantTable(t testing.TB) (*gnttab.Table, []byte, func(ref, frame uint32, ro bool)) {
	t.Helper()
	m, err := mem.New(64*mem.PageSize, mem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tab, err := gnttab.New(m, gnttab.Options{DomID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.MapFrame(0, 1); err != nil {
		t.Fatal(err)
	}
	ram := m.Bytes()
	grant := func(ref, frame uint32, ro bool) {
		e := ram[mem.PageSize+int(ref)*gnttab.EntrySize:]
		flags := uint16(gnttab.GTFPermitAccess)
		if ro {
			flags |= gnttab.GTFReadonly
		}
		binary.LittleEndian.PutUint16(e[2:], 0)
		binary.LittleEndian.PutUint32(e[4:], frame)
		binary.LittleEndian.PutUint16(e[0:], flags)
	}
	return tab, ram, grant
}

// entryFlags returns the flags of grant entry ref.
func entryFlags(ram []byte, ref uint32) uint16 {
	return binary.LittleEndian.Uint16(ram[mem.PageSize+int(ref)*gnttab.EntrySize:])
}

// TestPersistCache checks hits, the bound, that a read-only hold never
// serves a READ, range checks, and that release drops every hold.
func TestPersistCache(t *testing.T) {
	tab, ram, grant := newTestGrantTable(t)
	for ref := uint32(10); ref < 20; ref++ {
		grant(ref, ref+10, ref == 12)
	}
	c := newPersistCache(TableGrants{Table: tab}, 4)
	type use struct {
		ref, off, n uint32
		write       bool
		ok          bool
	}
	for i, u := range []use{
		{10, 0, 4096, true, true},     // miss: held for writing
		{10, 512, 512, false, true},   // hit: a write hold serves a WRITE
		{10, 3584, 512, true, true},   // hit
		{10, 3584, 1024, true, false}, // leaves the page
		{11, 0, 512, false, true},     // miss: held read-only
		{11, 0, 512, true, false},     // a read-only hold must not serve a READ
		{12, 0, 512, true, false},     // read-only grant: no write hold
		{12, 0, 512, false, true},     // miss
		{99, 0, 512, false, false},    // unused entry
		{13, 0, 512, false, true},     // miss: the cache is full now
		{14, 0, 512, false, false},    // beyond the bound
		{13, 1024, 512, false, true},  // hit
	} {
		b, _, ok := c.get(u.ref, u.off, u.n, u.write)
		if ok != u.ok || (ok && uint32(len(b)) != u.n) {
			t.Fatalf("use %d %+v: ok %v, %d bytes", i, u, ok, len(b))
		}
		if ok {
			page := (u.ref + 10) * mem.PageSize
			if &b[0] != &ram[page+u.off] {
				t.Fatalf("use %d: bytes not at frame %d + %d", i, u.ref+10, u.off)
			}
		}
	}
	if c.len() != 4 || c.hits != 3 || c.misses != 4 {
		t.Fatalf("len %d hits %d misses %d, want 4, 3, 4", c.len(), c.hits, c.misses)
	}
	if f := entryFlags(ram, 10); f&gnttab.GTFWriting == 0 {
		t.Fatalf("ref 10 flags %#x: not held for writing", f)
	}
	c.release()
	if c.len() != 0 {
		t.Fatalf("%d holds after release", c.len())
	}
	for ref := uint32(10); ref < 20; ref++ {
		if f := entryFlags(ram, ref); f&(gnttab.GTFReading|gnttab.GTFWriting) != 0 {
			t.Fatalf("ref %d flags %#x after release", ref, f)
		}
	}
	idle := false
	tab.WhenIdle(func() { idle = true })
	if !idle {
		t.Fatal("table not idle after release")
	}
}

// TestUringPersistent runs requests through the io_uring engine with
// persistent grants: repeated refs hit the cache, a READ through a ref
// cached read-only still fails, the data lands in the granted pages, and
// closing the engine (the ring's disconnect) drops every hold.
func TestUringPersistent(t *testing.T) {
	tab, ram, grant := newTestGrantTable(t)
	grant(10, 20, false)
	grant(11, 21, true)
	path := filepath.Join(t.TempDir(), "disk.img")
	img := make([]byte, 64*SectorSize)
	for i := range img {
		img[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := NewDisk(f, TableGrants{Table: tab}, allFeatures)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newUringEngine(d, 32)
	if err != nil {
		t.Skipf("no io_uring engine: %v", err)
	}
	e.persistent()
	if e.fflag != iouring.FixedFile {
		t.Error("image file not registered with the ring")
	}
	reqs := []struct {
		entry []byte
		ok    bool
	}{
		{rw(OpRead, 1, 0, Segment{10, 0, 7}), true},
		{rw(OpRead, 2, 8, Segment{10, 0, 7}), true},
		{rw(OpWrite, 3, 16, Segment{11, 0, 7}), true},
		{rw(OpRead, 4, 24, Segment{11, 0, 7}), false}, // read-only grant
		{rw(OpRead, 5, 8, Segment{10, 0, 7}), true},
	}
	for _, r := range reqs {
		if err := e.submit(r.entry); err != nil {
			t.Fatal(err)
		}
		if err := e.flushSubmit(); err != nil {
			t.Fatal(err)
		}
		e.drain()
	}
	if len(e.out) != len(reqs) {
		t.Fatalf("%d responses, want %d", len(e.out), len(reqs))
	}
	for _, rsp := range e.out {
		want := reqs[rsp.ID-1].ok
		if (rsp.Status == StatusOkay) != want {
			t.Errorf("request %d: status %d", rsp.ID, rsp.Status)
		}
	}
	if e.pc.len() != 2 || e.pc.hits != 2 {
		t.Errorf("cache: %d refs, %d hits; want 2, 2", e.pc.len(), e.pc.hits)
	}
	if got, want := ram[20*mem.PageSize:21*mem.PageSize], img[8*SectorSize:16*SectorSize]; string(got) != string(want) {
		t.Error("READ data not in the granted page")
	}
	// Both cached pages went through registered buffers (READ_FIXED and
	// WRITE_FIXED) where the kernel has sparse buffer tables (5.19).
	if e.reg == nil {
		if iouring.BufferTablesAvailable() == nil {
			t.Error("no registered buffer table, though the kernel offers one")
		}
	} else if e.reg[0] != 1 || e.reg[1] != 1 {
		t.Errorf("persistent pages registered: %v, want both", e.reg[:2])
	}
	if f := entryFlags(ram, 10); f&gnttab.GTFWriting == 0 {
		t.Errorf("ref 10 flags %#x: persistent hold gone before disconnect", f)
	}
	e.close()
	for _, ref := range []uint32{10, 11} {
		if f := entryFlags(ram, ref); f&(gnttab.GTFReading|gnttab.GTFWriting) != 0 {
			t.Errorf("ref %d flags %#x after close", ref, f)
		}
	}
}

// TestPersistTable fills the ref table to its bound with refs chosen to
// collide and finds every one again, and none that was not put.
func TestPersistTable(t *testing.T) {
	c := newPersistCache(nil, MaxPersistentGrants)
	if len(c.slots) < 2*MaxPersistentGrants || len(c.slots)&(len(c.slots)-1) != 0 {
		t.Fatalf("table of %d slots for %d refs", len(c.slots), MaxPersistentGrants)
	}
	ref := func(i int) uint32 { return uint32(i) << 16 } // same low bits
	for i := 0; i < MaxPersistentGrants; i++ {
		s := c.find(ref(i))
		if s.idx != 0 {
			t.Fatalf("ref %#x found before it was put", ref(i))
		}
		*s = pslot{ref: ref(i), idx: uint32(i + 1)}
	}
	for i := 0; i < MaxPersistentGrants; i++ {
		if s := c.find(ref(i)); s.idx != uint32(i+1) {
			t.Fatalf("ref %#x: index %d, want %d", ref(i), s.idx, i+1)
		}
	}
	if s := c.find(7); s.idx != 0 {
		t.Fatalf("ref 7 never put, found at index %d", s.idx)
	}
	c.release()
	if s := c.find(ref(3)); s.idx != 0 {
		t.Fatal("ref found after release")
	}
}

// FuzzPersistCache makes arbitrary uses of a persistent-grant cache over a
// real grant table (refs in and out of the table, ranges in and out of the
// page, reads and writes, more refs than the bound): a use it serves lies
// in the granted frame and never writes through a read-only grant, and
// release leaves no entry held.
func FuzzPersistCache(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 0, 16, 1, 0, 10, 0, 0, 2, 0, 2, 0, 0})
	f.Add([]byte{5, 0, 0, 0, 0, 2, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0})
	f.Fuzz(func(t *testing.T, uses []byte) {
		tab, ram, grant := newTestGrantTable(t)
		const refs = 40
		for ref := uint32(0); ref < refs; ref++ {
			grant(ref, ref+10, ref%5 == 0)
		}
		c := newPersistCache(TableGrants{Table: tab}, 8)
		for len(uses) >= 8 {
			u := uses[:8]
			uses = uses[8:]
			ref := uint32(binary.LittleEndian.Uint16(u[0:]))
			off := uint32(binary.LittleEndian.Uint16(u[2:]))
			n := uint32(binary.LittleEndian.Uint16(u[4:]))
			write := u[6]&1 != 0
			b, _, ok := c.get(ref, off, n, write)
			if !ok {
				continue
			}
			if ref >= refs || (write && ref%5 == 0) {
				t.Fatalf("ref %d (write %v) served", ref, write)
			}
			if uint32(len(b)) != n || off+n > mem.PageSize {
				t.Fatalf("ref %d: %d bytes at %d for %d", ref, len(b), off, n)
			}
			if n > 0 && &b[0] != &ram[int(ref+10)*mem.PageSize+int(off)] {
				t.Fatalf("ref %d: bytes not in frame %d at %d", ref, ref+10, off)
			}
		}
		if c.len() > 8 {
			t.Fatalf("%d refs held, bound 8", c.len())
		}
		c.release()
		for ref := uint32(0); ref < refs; ref++ {
			if fl := entryFlags(ram, ref); fl&(gnttab.GTFReading|gnttab.GTFWriting) != 0 {
				t.Fatalf("ref %d flags %#x after release", ref, fl)
			}
		}
	})
}
