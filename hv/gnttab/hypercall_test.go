package gnttab

import (
	"encoding/binary"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// call makes grant_table_op(cmd, arg, count) as vCPU 0 of the guest.
func call(tab *Table, m *mem.Memory, cmd, arg, count uint64) int64 {
	return tab.Hypercall(memVCPU{m}, cmd, arg, count)
}

func TestUnknownAndBadCount(t *testing.T) {
	tab, m := newTable(t, Options{})
	for _, c := range []struct {
		name       string
		cmd, count uint64
		want       int64
	}{
		{"dump_table", GnttabopDumpTable, 1, xen.ENOSYS.Ret()},
		{"transfer", GnttabopTransfer, 1, xen.ENOSYS.Ret()},
		{"unmap_and_replace", GnttabopUnmapAndReplace, 1, xen.ENOSYS.Ret()},
		{"get_status_frames", GnttabopGetStatusFrames, 1, xen.ENOSYS.Ret()},
		{"cache_flush", GnttabopCacheFlush, 1, xen.ENOSYS.Ret()},
		{"13", 13, 1, xen.ENOSYS.Ret()},
		{"continuation bits", 1<<12 | GnttabopCopy, 1, xen.ENOSYS.Ret()},
		{"high cmd bits truncated", 1<<32 | GnttabopCopy, 0, 0},
		{"negative count", GnttabopCopy, 1 << 31, xen.EINVAL.Ret()},
		{"unknown cmd wins over bad count", GnttabopTransfer, 1 << 31, xen.ENOSYS.Ret()},
		{"count truncated to 32 bits", GnttabopMapGrantRef, 1 << 32, 0},
		{"zero-count copy", GnttabopCopy, 0, 0},
		{"zero-count map", GnttabopMapGrantRef, 0, 0},
		{"zero-count unmap", GnttabopUnmapGrantRef, 0, 0},
		{"zero-count swap", GnttabopSwapGrantRef, 0, 0},
		{"query_size count 0", GnttabopQuerySize, 0, xen.EINVAL.Ret()},
		{"query_size count 2", GnttabopQuerySize, 2, xen.EINVAL.Ret()},
		{"setup_table count 0", GnttabopSetupTable, 0, xen.EINVAL.Ret()},
	} {
		if got := call(tab, m, c.cmd, badGVA, c.count); got != c.want {
			t.Errorf("%s: cmd %#x count %#x = %d, want %d", c.name, c.cmd, c.count, got, c.want)
		}
	}
}

func TestQuerySize(t *testing.T) {
	tab, m := newTable(t, Options{MaxFrames: 8})
	query := func(dom uint16) (nr, max uint32, st int16, ret int64) {
		b := make([]byte, querySize)
		put16(b, queryDom, dom)
		put32(b, queryNrFrames, 0xdead)
		put32(b, queryMaxFrames, 0xbeef)
		writeArg(t, m, argGPA, b)
		ret = call(tab, m, GnttabopQuerySize, argGPA, 1)
		if err := m.ReadAt(b, argGPA); err != nil {
			t.Fatal(err)
		}
		le := binary.LittleEndian
		return le.Uint32(b[queryNrFrames:]), le.Uint32(b[queryMaxFrames:]), int16(le.Uint16(b[queryStatus:])), ret
	}
	for _, c := range []struct {
		name    string
		dom     uint16
		nr, max uint32
		st      int16
	}{
		{"self", xen.DomIDSelf, 2, 8, GntstOkay},
		{"own id", domU, 2, 8, GntstOkay},
		{"backend", backend, 0xdead, 0xbeef, GntstPermissionDenied},
		{"no such domain", 5, 0xdead, 0xbeef, GntstBadDomain},
		{"DOMID_IO", 0x7ff1, 0xdead, 0xbeef, GntstBadDomain},
	} {
		nr, max, st, ret := query(c.dom)
		if ret != 0 || nr != c.nr || max != c.max || st != c.st {
			t.Errorf("%s: ret %d nr %#x max %#x status %d, want 0 %#x %#x %d", c.name, ret, nr, max, st, c.nr, c.max, c.st)
		}
	}
	if err := tab.MapFrame(6, 0x30); err != nil {
		t.Fatal(err)
	}
	if nr, _, _, _ := query(xen.DomIDSelf); nr != 7 {
		t.Errorf("nr_frames %d after placing frame 6", nr)
	}
	if ret := call(tab, m, GnttabopQuerySize, badGVA, 1); ret != xen.EFAULT.Ret() {
		t.Errorf("bad pointer: %d", ret)
	}
	// Fresh table: Xen starts with one frame.
	fresh, err := New(m, Options{DomID: domU})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, querySize)
	put16(b, queryDom, xen.DomIDSelf)
	writeArg(t, m, argGPA, b)
	if ret := call(fresh, m, GnttabopQuerySize, argGPA, 1); ret != 0 {
		t.Fatal(ret)
	}
	_ = m.ReadAt(b, argGPA)
	if nr, max := binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:]); nr != 1 || max != DefaultMaxFrames {
		t.Errorf("fresh table: nr %d max %d", nr, max)
	}
}

func TestSetupTable(t *testing.T) {
	setup := Options{DomID: domU, MaxFrames: 4, SetupFrames: []mem.GPA{0xf0000, 0xf1000, 0xf2000}}
	type result struct {
		ret    int64
		st     int16
		frames []uint64
	}
	run := func(tab *Table, m *mem.Memory, dom uint16, nr uint32, list uint64) result {
		b := make([]byte, setupSize)
		put16(b, setupDom, dom)
		put32(b, setupNrFrames, nr)
		put64(b, setupFrameList, list)
		writeArg(t, m, argGPA, b)
		writeArg(t, m, listGPA, make([]byte, 64))
		r := result{ret: call(tab, m, GnttabopSetupTable, argGPA, 1), st: status(t, m, argGPA+setupStatus)}
		out := make([]byte, 8*4)
		_ = m.ReadAt(out, listGPA)
		for i := range min(nr, 4) {
			r.frames = append(r.frames, binary.LittleEndian.Uint64(out[8*i:]))
		}
		// Nothing but the status field is written back.
		got := make([]byte, setupSize)
		_ = m.ReadAt(got, argGPA)
		put16(b, setupStatus, uint16(r.st))
		if string(got) != string(b) {
			t.Errorf("setup_table wrote more than status: % x", got)
		}
		return r
	}
	for _, c := range []struct {
		name    string
		opts    Options
		pre     func(*Table)
		dom     uint16
		nr      uint32
		list    uint64
		want    result
		nrAfter uint32
	}{
		{name: "three monitor frames", opts: setup, dom: xen.DomIDSelf, nr: 3, list: listGPA,
			want: result{0, GntstOkay, []uint64{0xf0, 0xf1, 0xf2}}, nrAfter: 3},
		{name: "no setup slot for frame 3", opts: setup, dom: domU, nr: 4, list: listGPA,
			want: result{0, GntstOkay, []uint64{0xf0, 0xf1, 0xf2, InvalidGFN}}, nrAfter: 4},
		{name: "guest-placed frame kept", opts: setup, dom: xen.DomIDSelf, nr: 2, list: listGPA,
			pre:  func(tab *Table) { _ = tab.MapFrame(1, 0x33) },
			want: result{0, GntstOkay, []uint64{0xf0, 0x33}}, nrAfter: 2},
		{name: "setup slot taken by a guest frame", opts: setup, dom: xen.DomIDSelf, nr: 2, list: listGPA,
			pre:  func(tab *Table) { _ = tab.MapFrame(3, 0xf1) },
			want: result{0, GntstOkay, []uint64{0xf0, InvalidGFN}}, nrAfter: 4},
		{name: "without setup frames, as Xen for HVM", opts: Options{DomID: domU}, dom: xen.DomIDSelf, nr: 2, list: listGPA,
			want: result{0, GntstOkay, []uint64{InvalidGFN, InvalidGFN}}, nrAfter: 2},
		{name: "zero frames", opts: setup, dom: xen.DomIDSelf, nr: 0, list: badGVA,
			want: result{0, GntstOkay, nil}, nrAfter: 1},
		{name: "above max", opts: setup, dom: xen.DomIDSelf, nr: 5, list: listGPA,
			want: result{0, GntstGeneralError, []uint64{0, 0, 0, 0}}, nrAfter: 1},
		{name: "backend", opts: setup, dom: backend, nr: 1, list: listGPA,
			want: result{0, GntstPermissionDenied, []uint64{0}}, nrAfter: 1},
		{name: "no such domain", opts: setup, dom: 9, nr: 1, list: listGPA,
			want: result{0, GntstBadDomain, []uint64{0}}, nrAfter: 1},
		{name: "bad frame list", opts: setup, dom: xen.DomIDSelf, nr: 1, list: badGVA,
			want: result{0, GntstBadVirtAddr, []uint64{0}}, nrAfter: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMem(t)
			tab, err := New(m, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.pre != nil {
				c.pre(tab)
			}
			got := run(tab, m, c.dom, c.nr, c.list)
			if got.ret != c.want.ret || got.st != c.want.st || len(got.frames) != len(c.want.frames) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got.frames {
				if got.frames[i] != c.want.frames[i] {
					t.Errorf("frame %d at %#x, want %#x", i, got.frames[i], c.want.frames[i])
				}
			}
			if tab.NrFrames() != c.nrAfter {
				t.Errorf("NrFrames %d, want %d", tab.NrFrames(), c.nrAfter)
			}
		})
	}
	t.Run("placed frames work", func(t *testing.T) {
		m := newMem(t)
		tab, _ := New(m, setup)
		if r := run(tab, m, xen.DomIDSelf, 2, listGPA); r.st != GntstOkay {
			t.Fatal(r)
		}
		grant(t, tab, m, EntriesPerFrame+3, GTFPermitAccess, backend, dataGFN)
		if gpa := entryAddr(t, tab, EntriesPerFrame+3); gpa != 0xf1000+3*EntrySize {
			t.Errorf("entry at %#x", gpa)
		}
		mp, err := tab.Acquire(backend, EntriesPerFrame+3, 0, 8, Read)
		if err != nil {
			t.Fatal(err)
		}
		mp.Release()
	})
	t.Run("bad argument pointer", func(t *testing.T) {
		m := newMem(t)
		tab, _ := New(m, setup)
		if ret := call(tab, m, GnttabopSetupTable, badGVA, 1); ret != xen.EFAULT.Ret() {
			t.Errorf("ret %d", ret)
		}
	})
}

func TestSetAndGetVersion(t *testing.T) {
	tab, m := newTable(t, Options{})
	for _, c := range []struct {
		version uint32
		ret     int64
	}{
		{1, 0},
		{2, xen.ENOSYS.Ret()},
		{0, xen.EINVAL.Ret()},
		{3, xen.EINVAL.Ret()},
		{0xffffffff, xen.EINVAL.Ret()},
	} {
		b := make([]byte, 4)
		put32(b, 0, c.version)
		writeArg(t, m, argGPA, b)
		if ret := call(tab, m, GnttabopSetVersion, argGPA, 0); ret != c.ret {
			t.Errorf("set_version(%d) = %d, want %d", c.version, ret, c.ret)
		}
		_ = m.ReadAt(b, argGPA)
		if v := binary.LittleEndian.Uint32(b); v != 1 {
			t.Errorf("set_version(%d) wrote back version %d, want 1", c.version, v)
		}
	}
	if ret := call(tab, m, GnttabopSetVersion, badGVA, 1); ret != xen.EFAULT.Ret() {
		t.Errorf("set_version bad pointer: %d", ret)
	}
	for _, c := range []struct {
		dom     uint16
		ret     int64
		version uint32
	}{
		{xen.DomIDSelf, 0, 1},
		{domU, 0, 1},
		{backend, xen.EPERM.Ret(), 0x55},
		{3, xen.ESRCH.Ret(), 0x55},
	} {
		b := make([]byte, getVersionSize)
		put16(b, getVersionDom, c.dom)
		put16(b, 2, 0x7777) // pad: left alone
		put32(b, getVersionVer, 0x55)
		writeArg(t, m, argGPA, b)
		if ret := call(tab, m, GnttabopGetVersion, argGPA, 0); ret != c.ret {
			t.Errorf("get_version(d%d) = %d, want %d", c.dom, ret, c.ret)
		}
		_ = m.ReadAt(b, argGPA)
		if v := binary.LittleEndian.Uint32(b[4:]); v != c.version || binary.LittleEndian.Uint16(b[2:]) != 0x7777 {
			t.Errorf("get_version(d%d) struct % x", c.dom, b)
		}
	}
	if ret := call(tab, m, GnttabopGetVersion, badGVA, 1); ret != xen.EFAULT.Ret() {
		t.Errorf("get_version bad pointer: %d", ret)
	}
}

func TestMapAndUnmapGrantRef(t *testing.T) {
	tab, m := newTable(t, Options{})
	grant(t, tab, m, 9, GTFPermitAccess, domU, dataGFN)
	type mapOp struct {
		flags uint32
		dom   uint16
		want  int16
	}
	ops := []mapOp{
		{0, domU, GntstBadGntref},
		{GntmapReadonly, domU, GntstBadGntref},
		{GntmapDeviceMap, backend, GntstGeneralError},
		{GntmapHostMap | GntmapApplicationMap, backend, GntstGeneralError},
		{GntmapHostMap | GntmapContainsPTE, backend, GntstGeneralError},
		{GntmapHostMap, backend, GntstBadDomain},
		{GntmapHostMap | GntmapReadonly, domU, GntstBadDomain},
		{GntmapHostMap, xen.DomIDSelf, GntstBadDomain},
		{GntmapHostMap, 77, GntstBadDomain},
	}
	b := make([]byte, mapSize*len(ops))
	for i, op := range ops {
		e := b[i*mapSize:]
		put64(e, 0, 0x123000)
		put32(e, mapFlags, op.flags)
		put32(e, 12, 9)
		put16(e, 16, op.dom)
		put32(e, 20, 0xabcd) // handle
		put64(e, 24, 0x42)
	}
	writeArg(t, m, argGPA, b)
	if ret := call(tab, m, GnttabopMapGrantRef, argGPA, uint64(len(ops))); ret != 0 {
		t.Fatalf("map_grant_ref = %d", ret)
	}
	got := make([]byte, len(b))
	_ = m.ReadAt(got, argGPA)
	for i, op := range ops {
		if st := int16(binary.LittleEndian.Uint16(got[i*mapSize+mapStatus:])); st != op.want {
			t.Errorf("map %d (flags %#x dom %d): status %d, want %d", i, op.flags, op.dom, st, op.want)
		}
		put16(b[i*mapSize:], mapStatus, uint16(op.want))
	}
	if string(got) != string(b) {
		t.Error("map_grant_ref changed more than the status")
	}
	if f := flagsOf(t, tab, m, 9); f != GTFPermitAccess {
		t.Errorf("map touched the grant: flags %#x", f)
	}
	// A fault on the second entry: the first is done, then -EFAULT.
	lastPage := uint64(ramSize - mapSize)
	writeArg(t, m, lastPage, make([]byte, mapSize))
	if ret := call(tab, m, GnttabopMapGrantRef, lastPage, 2); ret != xen.EFAULT.Ret() {
		t.Errorf("map past the end of ram = %d", ret)
	}
	if st := status(t, m, lastPage+mapStatus); st != GntstBadGntref {
		t.Errorf("first entry before the fault: status %d", st)
	}

	u := make([]byte, 3*unmapSize)
	for i := range 3 {
		put32(u[i*unmapSize:], 16, uint32(i))
	}
	writeArg(t, m, argGPA, u)
	if ret := call(tab, m, GnttabopUnmapGrantRef, argGPA, 3); ret != 0 {
		t.Fatalf("unmap_grant_ref = %d", ret)
	}
	for i := range 3 {
		if st := status(t, m, argGPA+uint64(i*unmapSize)+unmapStatus); st != GntstBadHandle {
			t.Errorf("unmap %d: status %d", i, st)
		}
	}
	if ret := call(tab, m, GnttabopUnmapGrantRef, badGVA, 1); ret != xen.EFAULT.Ret() {
		t.Errorf("unmap bad pointer = %d", ret)
	}
}

func TestSwapGrantRef(t *testing.T) {
	tab, m := newTable(t, Options{})
	grant(t, tab, m, 100, GTFPermitAccess, backend, dataGFN)
	grant(t, tab, m, 600, GTFPermitAccess|GTFReadonly, 4, dataGFN+1)
	grant(t, tab, m, 101, GTFPermitAccess, backend, dataGFN+2)
	held, err := tab.Acquire(backend, 101, 0, 8, Read)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	ops := []struct {
		a, b uint32
		want int16
	}{
		{100, 600, GntstOkay},
		{7, 7, GntstOkay},
		{100, 2 * EntriesPerFrame, GntstBadGntref},
		{^uint32(0), 100, GntstBadGntref},
		{100, 101, GntstEagain},
		{101, 100, GntstEagain},
	}
	b := make([]byte, swapSize*len(ops))
	for i, op := range ops {
		put32(b[i*swapSize:], swapRefA, op.a)
		put32(b[i*swapSize:], swapRefB, op.b)
	}
	writeArg(t, m, argGPA, b)
	if ret := call(tab, m, GnttabopSwapGrantRef, argGPA, uint64(len(ops))); ret != 0 {
		t.Fatalf("swap_grant_ref = %d", ret)
	}
	for i, op := range ops {
		if st := status(t, m, argGPA+uint64(i*swapSize)+swapStatus); st != op.want {
			t.Errorf("swap(%d, %d): status %d, want %d", op.a, op.b, st, op.want)
		}
	}
	if f, d, fr := entry(t, tab, m, 100); f != GTFPermitAccess|GTFReadonly || d != 4 || fr != dataGFN+1 {
		t.Errorf("ref 100 after swap: %#x d%d %#x", f, d, fr)
	}
	if f, d, fr := entry(t, tab, m, 600); f != GTFPermitAccess || d != backend || fr != dataGFN {
		t.Errorf("ref 600 after swap: %#x d%d %#x", f, d, fr)
	}
	if ret := call(tab, m, GnttabopSwapGrantRef, badGVA, 1); ret != xen.EFAULT.Ret() {
		t.Errorf("swap bad pointer = %d", ret)
	}
}
