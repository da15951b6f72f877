package xen

import (
	"encoding/binary"
	"testing"
)

func TestMemoryOpReservation(t *testing.T) {
	tests := []struct {
		name string
		cmd  uint64
		dom  uint16
		arg  uint64
		want int64
	}{
		{name: "current self", cmd: XenmemCurrentReservation, dom: DomIDSelf, want: 32768},
		{name: "current own id", cmd: XenmemCurrentReservation, dom: 1, want: 32768},
		{name: "maximum self", cmd: XenmemMaximumReservation, dom: DomIDSelf, want: 32768},
		{name: "maximum gpfn", cmd: XenmemMaximumGPFN, dom: DomIDSelf, want: 0x7fff},
		{name: "current backend", cmd: XenmemCurrentReservation, dom: 0, want: -1},
		{name: "current unknown", cmd: XenmemCurrentReservation, dom: 3, want: -3},
		{name: "current fault", cmd: XenmemCurrentReservation, arg: badGVA, want: -14},
		{name: "current continuation bits", cmd: 1<<MemopExtentShift | XenmemCurrentReservation, dom: DomIDSelf, want: -22},
		// The start extent is checked before the argument is read.
		{name: "maximum continuation before fault", cmd: 5<<MemopExtentShift | XenmemMaximumReservation, arg: badGVA, want: -22},
		{name: "increase_reservation", cmd: XenmemIncreaseReservation, want: -38},
		{name: "add_to_physmap", cmd: XenmemAddToPhysmap, want: -38},
		{name: "machphys_mapping", cmd: XenmemMachphysMapping, want: -38},
		{name: "unknown", cmd: 63, want: -38},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, _, v, arg, _ := newTest(Options{})
			binary.LittleEndian.PutUint16(arg, tt.dom)
			gva := tt.arg
			if gva == 0 {
				gva = argGVA
			}
			if got := x.Hypercall(v, Call{Nr: HypercallMemoryOp, Args: [5]uint64{tt.cmd, gva}}); got != tt.want {
				t.Fatalf("memory_op(%#x) = %d, want %d", tt.cmd, got, tt.want)
			}
		})
	}
}

func TestMemoryMap(t *testing.T) {
	le := binary.LittleEndian
	tests := []struct {
		name     string
		capacity uint32
		buffer   uint64
		arg      uint64
		cmd      uint64
		empty    bool
		want     int64
		count    uint32 // entries expected back
	}{
		{name: "all", capacity: 3, buffer: bufGVA, want: 0, count: 3},
		{name: "room to spare", capacity: 128, buffer: bufGVA, want: 0, count: 3},
		{name: "huge capacity", capacity: 0xffffffff, buffer: bufGVA, want: 0, count: 3},
		// Too small a buffer: Xen silently returns the first entries.
		{name: "truncated", capacity: 2, buffer: bufGVA, want: 0, count: 2},
		{name: "zero capacity", capacity: 0, buffer: badGVA, want: 0, count: 0},
		{name: "buffer fault", capacity: 3, buffer: badGVA, want: -14},
		{name: "buffer partly mapped", capacity: 3, buffer: bufGVA + 16*PageSize - 30, want: -14},
		{name: "arg fault", arg: badGVA, want: -14},
		{name: "empty map", capacity: 3, buffer: bufGVA, empty: true, want: -38},
		{name: "continuation bits", cmd: 1<<MemopExtentShift | XenmemMemoryMap, capacity: 3, buffer: bufGVA, want: -38},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, d, v, arg, buf := newTest(Options{})
			if tt.empty {
				d.memmap = nil
			}
			for i := range buf {
				buf[i] = 0xaa
			}
			le.PutUint32(arg[0:], tt.capacity)
			le.PutUint32(arg[4:], 0x5555)
			le.PutUint64(arg[8:], tt.buffer)
			gva, cmd := tt.arg, tt.cmd
			if gva == 0 {
				gva = argGVA
			}
			if cmd == 0 {
				cmd = XenmemMemoryMap
			}
			if got := x.Hypercall(v, Call{Nr: HypercallMemoryOp, Args: [5]uint64{cmd, gva}}); got != tt.want {
				t.Fatalf("memory_map = %d, want %d", got, tt.want)
			}
			if tt.want != 0 {
				if le.Uint32(arg) != tt.capacity {
					t.Errorf("failed call changed nr_entries to %d", le.Uint32(arg))
				}
				return
			}
			if g := le.Uint32(arg[0:]); g != tt.count {
				t.Errorf("nr_entries = %d, want %d", g, tt.count)
			}
			if le.Uint32(arg[4:]) != 0x5555 || le.Uint64(arg[8:]) != tt.buffer {
				t.Errorf("struct tail changed: %x", arg[4:16])
			}
			for i := range int(tt.count) {
				e := buf[i*20:]
				w := d.memmap[i]
				if le.Uint64(e[0:]) != w.Addr || le.Uint64(e[8:]) != w.Size || le.Uint32(e[16:]) != w.Type {
					t.Errorf("entry %d = %x, want %+v", i, e[:20], w)
				}
			}
			if buf[tt.count*20] != 0xaa {
				t.Errorf("wrote past %d entries", tt.count)
			}
		})
	}
}

func TestMaxGPFN(t *testing.T) {
	tests := []struct {
		m    []MemmapEntry
		want uint64
	}{
		{nil, 0},
		{[]MemmapEntry{{Addr: 0, Size: 0}}, 0},
		{[]MemmapEntry{{Addr: 0, Size: 0x1000}}, 0},
		{[]MemmapEntry{{Addr: 0x100000, Size: 0x100000}, {Addr: 0, Size: 0xa0000}}, 0x1ff},
		{[]MemmapEntry{{Addr: 0xfffffffffffff000, Size: 0x2000}}, 0xfffffffffffff},
	}
	for _, tt := range tests {
		if got := maxGPFN(tt.m); got != tt.want {
			t.Errorf("maxGPFN(%v) = %#x, want %#x", tt.m, got, tt.want)
		}
	}
}
