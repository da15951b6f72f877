package xen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// TestGuestABINumbers pins the numbers docs/guest-abi.md promises guests.
func TestGuestABINumbers(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"HypercallMSR", HypercallMSR, 0x40000000},
		{"HypercallPort", HypercallPort, 0xc0},
		{"RawPort", RawPort, 0xc4},
		{"TestPort", TestPort, 0xc8},
		{"DebugConsolePort", DebugConsolePort, 0xe9},
		{"HypercallSlots", HypercallSlots, 128},
		{"HypercallSlotSize", HypercallSlotSize, 32},
		{"CPUIDBase", CPUIDBase, 0x40000000},
		{"CPUIDMaxLeaf", CPUIDMaxLeaf, 0x40000004},
		{"DomIDSelf", DomIDSelf, 0x7ff0},
		{"HVMNrParams", HVMNrParams, 39},
		{"NrEventChannels", NrEventChannels, 4096},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestWriteHypercallPage(t *testing.T) {
	page := bytes.Repeat([]byte{0x11}, PageSize+8)
	if err := WriteHypercallPage(page); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 128; n++ {
		slot := page[n*32 : n*32+32]
		if n == HypercallEventChannelOp {
			// The doorbell stub: EVTCHNOP_send writes the port to DoorbellPort,
			// other commands take the ordinary path at the end of the slot.
			if !bytes.Equal(slot[:len(doorbellStub)], doorbellStub[:]) ||
				!bytes.Equal(slot[len(doorbellStub)-8:len(doorbellStub)], []byte{0xb8, 32, 0, 0, 0, 0xe7, 0xc0, 0xc3}) {
				t.Fatalf("slot 32 = % x", slot)
			}
			continue
		}
		want := []byte{0xb8, byte(n), 0, 0, 0, 0xe7, 0xc0, 0xc3}
		if !bytes.Equal(slot[:8], want) {
			t.Fatalf("slot %d = % x, want % x", n, slot[:8], want)
		}
		if !bytes.Equal(slot[8:], bytes.Repeat([]byte{0xcc}, 24)) {
			t.Fatalf("slot %d padding = % x", n, slot[8:])
		}
	}
	if !bytes.Equal(page[PageSize:], bytes.Repeat([]byte{0x11}, 8)) {
		t.Error("wrote past the page")
	}
	// Slot 17 (xen_version) decodes to the hypercall number.
	if nr := binary.LittleEndian.Uint32(page[17*32+1:]); nr != HypercallXenVersion {
		t.Errorf("slot 17 immediate = %d", nr)
	}
	if err := WriteHypercallPage(make([]byte, PageSize-1)); !errors.Is(err, ErrShortPage) {
		t.Errorf("short page error = %v", err)
	}
}

func TestParseHypercallMSR(t *testing.T) {
	tests := []struct {
		val uint64
		gpa uint64
		ok  bool
	}{
		{0, 0, true},
		{0x5000, 0x5000, true},
		{0xfffff000, 0xfffff000, true},
		{0x5001, 0, false}, // page index 1
		{0x5fff, 0, false},
		{0x1, 0, false},
		{0xffff_ffff_ffff_f000, 0xffff_ffff_ffff_f000, true},
	}
	for _, tt := range tests {
		gpa, ok := ParseHypercallMSR(tt.val)
		if gpa != tt.gpa || ok != tt.ok {
			t.Errorf("ParseHypercallMSR(%#x) = %#x, %v; want %#x, %v", tt.val, gpa, ok, tt.gpa, tt.ok)
		}
	}
}

func TestCPUIDLeaves(t *testing.T) {
	want := []CPUIDLeaf{
		{Function: 0x40000000, EAX: 0x40000004, EBX: 0x566e6558, ECX: 0x65584d4d, EDX: 0x4d4d566e},
		{Function: 0x40000001, EAX: 0x00040013},
		{Function: 0x40000002, EAX: 1, EBX: 0x40000000},
		{Function: 0x40000003, Index: 0, Indexed: true},
		{Function: 0x40000003, Index: 1, Indexed: true},
		{Function: 0x40000003, Index: 2, Indexed: true},
		{Function: 0x40000004, Index: 0, Indexed: true, EAX: 0x18, EBX: 3, ECX: 7},
	}
	got := CPUIDLeaves(3, 7)
	if len(got) != len(want) {
		t.Fatalf("%d leaves, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("leaf %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// The signature spells XenVMMXenVMM.
	var sig [12]byte
	binary.LittleEndian.PutUint32(sig[0:], got[0].EBX)
	binary.LittleEndian.PutUint32(sig[4:], got[0].ECX)
	binary.LittleEndian.PutUint32(sig[8:], got[0].EDX)
	if string(sig[:]) != "XenVMMXenVMM" {
		t.Errorf("signature %q", sig)
	}
	// The dispatcher's leaves follow its configured version and domain.
	x := NewDispatcher(newFakeDomain(), Options{Major: 4, Minor: 20})
	l := x.CPUIDLeaves(2)
	if l[1].EAX != 0x00040014 || l[6].EBX != 2 || l[6].ECX != 1 {
		t.Errorf("dispatcher leaves: version %#x vcpu %d dom %d", l[1].EAX, l[6].EBX, l[6].ECX)
	}
}

func TestHypercallNames(t *testing.T) {
	for nr, name := range map[uint64]string{
		0: "set_trap_table", 12: "memory_op", 17: "xen_version", 18: "console_io",
		24: "vcpu_op", 29: "sched_op", 32: "event_channel_op", 34: "hvm_op",
		42: "hypfs_op", 48: "arch_0", 55: "arch_7", 11: "hypercall_11", 43: "hypercall_43",
		64: "hypercall_64", 1 << 40: "hypercall_1099511627776",
	} {
		if got := HypercallName(nr); got != name {
			t.Errorf("HypercallName(%d) = %q, want %q", nr, got, name)
		}
	}
}

func TestErrno(t *testing.T) {
	for _, c := range []struct {
		e    Errno
		v    int64
		name string
	}{
		{EPERM, 1, "EPERM"}, {ENOENT, 2, "ENOENT"}, {ESRCH, 3, "ESRCH"}, {EINTR, 4, "EINTR"},
		{EIO, 5, "EIO"}, {E2BIG, 7, "E2BIG"}, {EAGAIN, 11, "EAGAIN"}, {ENOMEM, 12, "ENOMEM"},
		{EACCES, 13, "EACCES"}, {EFAULT, 14, "EFAULT"}, {EBUSY, 16, "EBUSY"}, {EEXIST, 17, "EEXIST"},
		{ENODEV, 19, "ENODEV"}, {EISDIR, 21, "EISDIR"}, {EINVAL, 22, "EINVAL"}, {ENOSPC, 28, "ENOSPC"},
		{EROFS, 30, "EROFS"}, {ENOSYS, 38, "ENOSYS"}, {ENOTEMPTY, 39, "ENOTEMPTY"}, {ETIME, 62, "ETIME"},
		{EOPNOTSUPP, 95, "EOPNOTSUPP"}, {ENOBUFS, 105, "ENOBUFS"}, {EISCONN, 106, "EISCONN"},
	} {
		if int64(c.e) != c.v || c.e.String() != c.name || c.e.Ret() != -c.v || !IsErrno(-c.v) {
			t.Errorf("%s: value %d ret %d known %v", c.name, int64(c.e), c.e.Ret(), IsErrno(-c.v))
		}
	}
	if IsErrno(0) || IsErrno(5) || IsErrno(-15) || IsErrno(-1000) {
		t.Error("IsErrno accepts a non-errno")
	}
	if Errno(15).String() != "errno(15)" {
		t.Errorf("unknown errno string %q", Errno(15).String())
	}
	var err error = ENOSYS
	if err.Error() != "xen: ENOSYS" {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestUnknownHypercalls(t *testing.T) {
	x, _, v, _, _ := newTest(Options{})
	implemented := map[uint64]bool{12: true, 17: true, 18: true, 24: true, 29: true, 34: true}
	for nr := uint64(0); nr < 70; nr++ {
		if implemented[nr] {
			continue
		}
		if got := x.Hypercall(v, Call{Nr: nr, Args: [5]uint64{0, argGVA, argGVA, argGVA, argGVA}}); got != -38 {
			t.Errorf("hypercall %d = %d, want -ENOSYS", nr, got)
		}
	}
	if got := x.Hypercall(v, Call{Nr: 1<<32 | HypercallXenVersion}); got != -38 {
		t.Errorf("hypercall 2^32+17 = %d, want -ENOSYS", got)
	}
}

func TestCounts(t *testing.T) {
	x, _, v, _, _ := newTest(Options{})
	for range 3 {
		x.Hypercall(v, Call{Nr: HypercallXenVersion})
	}
	x.Hypercall(v, Call{Nr: HypercallSchedOp, Args: [5]uint64{SchedopYield}})
	x.Hypercall(v, Call{Nr: 100})
	x.Hypercall(v, Call{Nr: HypercallXenVersion, Args: [5]uint64{XenverExtraversion, badGVA}})
	got := x.Counts()
	want := map[string]uint64{"xen_version": 4, "sched_op": 1, "other": 1}
	if len(got) != len(want) {
		t.Fatalf("Counts = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("Counts[%s] = %d, want %d", k, got[k], n)
		}
	}
	if x.Count(HypercallXenVersion) != 4 || x.Count(100) != 1 || x.Faults() != 1 {
		t.Errorf("Count/Faults = %d %d %d", x.Count(HypercallXenVersion), x.Count(100), x.Faults())
	}
}

func TestErrnoOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Errno
	}{
		{nil, 0},
		{ErrVCPUExists, EEXIST},
		{ErrNoSuchVCPU, ENOENT},
		{ErrVCPUNotInitialised, EINVAL},
		{ErrInvalidContext, EINVAL},
		{EBUSY, EBUSY},
		{errors.New("other"), EINVAL},
	} {
		if got := errnoOf(c.err); got != c.want {
			t.Errorf("errnoOf(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
