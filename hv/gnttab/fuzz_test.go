package gnttab

import (
	"encoding/binary"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// fuzzArgGPA is where FuzzGrantTableOp puts the fuzzed argument bytes.
const fuzzArgGPA = 0x20000

// FuzzGrantTableOp runs grant_table_op with arbitrary cmd, arg and count
// over arbitrary argument bytes (at fuzzArgGPA, up to 64 KiB) and grant
// table contents (frames 0 and 1), then backend acquisitions of refs the
// data names. Nothing may panic; the hypercall must return 0 or a Xen
// -errno; no ref may stay held; a released ref's flags must be clear; every
// mapping must lie in guest RAM where its entry says. Guest memory is only
// reached through mem's bounds-checked accessors, so an access outside it
// would be an error there, not a host fault.
func FuzzGrantTableOp(f *testing.F) {
	le := binary.LittleEndian
	table := func(entries ...[3]uint32) []byte { // flags|domid<<16, frame, ref
		b := make([]byte, 2*PageSize)
		for _, e := range entries {
			le.PutUint32(b[e[2]*EntrySize:], e[0])
			le.PutUint32(b[e[2]*EntrySize+4:], e[1])
		}
		return b
	}
	ops := func(ops ...copyArg) []byte {
		var b []byte
		for _, op := range ops {
			b = append(b, op.encode()...)
		}
		return b
	}
	self := uint16(xen.DomIDSelf)
	permit := uint32(GTFPermitAccess)
	f.Add(uint64(GnttabopQuerySize), uint64(fuzzArgGPA), uint64(1), []byte{0xf0, 0x7f}, []byte{})
	f.Add(uint64(GnttabopSetupTable), uint64(fuzzArgGPA), uint64(1),
		[]byte{0xf0, 0x7f, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 2, 0, 0, 0, 0, 0}, []byte{})
	f.Add(uint64(GnttabopSetVersion), uint64(fuzzArgGPA), uint64(1), []byte{2, 0, 0, 0}, []byte{})
	f.Add(uint64(GnttabopGetVersion), uint64(fuzzArgGPA), uint64(1), []byte{0xf0, 0x7f, 0, 0, 0, 0, 0, 0}, []byte{})
	f.Add(uint64(GnttabopCopy), uint64(fuzzArgGPA), uint64(3), ops(
		copyArg{srcU: 8, dstU: 0x41, srcDom: self, dstDom: self, len: 100, flags: GntcopySourceGref},
		copyArg{srcU: 0x40, dstU: 9, srcDom: self, dstDom: self, dstOff: 4000, len: 96, flags: GntcopyDestGref},
		copyArg{srcU: 9, dstU: 9, srcDom: domU, dstDom: domU, len: 5000, flags: 3},
	), table([3]uint32{permit | domU<<16, 0x40, 8}, [3]uint32{permit | domU<<16, 0x42, 9}))
	f.Add(uint64(GnttabopMapGrantRef), uint64(fuzzArgGPA), uint64(2), make([]byte, 64), table())
	f.Add(uint64(GnttabopUnmapGrantRef), uint64(fuzzArgGPA), uint64(2), make([]byte, 48), table())
	f.Add(uint64(GnttabopSwapGrantRef), uint64(fuzzArgGPA), uint64(1), []byte{8, 0, 0, 0, 9, 2, 0, 0},
		table([3]uint32{permit, 0x40, 8}, [3]uint32{permit | GTFReadonly, 0xffffffff, 9}))
	f.Add(uint64(GnttabopCopy), uint64(0xfffffffffffffff0), uint64(0x7fffffff), []byte{}, table())
	f.Add(uint64(13), uint64(0), uint64(0), []byte{}, []byte{})

	f.Fuzz(func(t *testing.T, cmd, arg, count uint64, args, tbl []byte) {
		m, err := mem.New(ramSize, mem.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		tab, err := New(m, Options{DomID: domU, MaxFrames: 4, SetupFrames: []mem.GPA{0xf0000, 0xf1000}})
		if err != nil {
			t.Fatal(err)
		}
		for i, gfn := range []uint64{frame0, frame1} {
			if err := tab.MapFrame(uint32(i), gfn); err != nil {
				t.Fatal(err)
			}
		}
		_ = m.WriteAt(tbl[:min(len(tbl), 2*PageSize)], frame0*PageSize)
		_ = m.WriteAt(args[:min(len(args), 0x10000)], fuzzArgGPA)

		ret := tab.Hypercall(memVCPU{m}, cmd, arg, count)
		if ret != 0 && !xen.IsErrno(ret) {
			t.Fatalf("grant_table_op(%#x, %#x, %#x) = %d: not 0 or a Xen errno", cmd, arg, count, ret)
		}
		if n := tab.heldRefs(); n != 0 {
			t.Fatalf("%d refs held after the hypercall", n)
		}

		// Backend acquisitions of the refs the argument bytes name.
		for i := 0; i+8 <= len(args) && i < 64; i += 8 {
			ref := le.Uint32(args[i:]) % (3 * EntriesPerFrame)
			off, n := uint32(args[i+4])<<4, uint32(le.Uint16(args[i+6:]))%(PageSize+2)
			acc := Access(args[i+5] & 1)
			mp, err := tab.Acquire(backend, ref, off, n, acc)
			if st := Status(err); st > 0 || st < GntstNoSpace {
				t.Fatalf("status %d for %v", st, err)
			}
			if err != nil {
				continue
			}
			_, _, frame := entry(t, tab, m, ref)
			if mp.GPA() != mem.GPA(frame)*PageSize+mem.GPA(off) || uint64(mp.GPA())+uint64(n) > ramSize || uint32(len(mp.Bytes())) != n {
				t.Fatalf("ref %d frame %#x: mapping at %#x len %d", ref, frame, mp.GPA(), len(mp.Bytes()))
			}
			if n > 0 {
				mp.Bytes()[n-1] ^= 0xff
				var b [1]byte
				_ = m.ReadAt(b[:], mp.GPA()+mem.GPA(n-1))
				if b[0] != mp.Bytes()[n-1] {
					t.Fatal("mapping does not alias guest memory")
				}
			}
			mp.Release()
			want := uint16(GTFReading)
			if acc == Write {
				want |= GTFWriting
			}
			if fl := flagsOf(t, tab, m, ref); fl&want != 0 {
				t.Fatalf("ref %d flags %#x after release", ref, fl)
			}
		}
		if n := tab.heldRefs(); n != 0 {
			t.Fatalf("%d refs held at the end", n)
		}
	})
}
