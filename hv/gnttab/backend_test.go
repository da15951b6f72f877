package gnttab

import (
	"bytes"
	"errors"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
)

func TestAcquireValidation(t *testing.T) {
	const ref = 10
	permit := uint16(GTFPermitAccess)
	for _, c := range []struct {
		name           string
		flags, domid   uint16
		frame          uint32
		ref            uint32
		offset, length uint32
		acc            Access
		want           error // nil: success
	}{
		{name: "read", flags: permit, frame: dataGFN, ref: ref, length: PageSize, acc: Read},
		{name: "write", flags: permit, frame: dataGFN, ref: ref, offset: 100, length: 200, acc: Write},
		{name: "read-only grant read", flags: permit | GTFReadonly, frame: dataGFN, ref: ref, length: 8, acc: Read},
		{name: "cache attributes ignored", flags: permit | GTFPWT | GTFPCD | GTFPAT, frame: dataGFN, ref: ref, length: 8, acc: Write},
		{name: "reserved ref", flags: permit, frame: dataGFN, ref: 1, length: 8, acc: Write},
		{name: "last ref of frame 1", flags: permit, frame: dataGFN, ref: 2*EntriesPerFrame - 1, length: 8, acc: Read},
		{name: "empty range at page end", flags: permit, frame: dataGFN, ref: ref, offset: PageSize, acc: Read},
		{name: "wrong domid", flags: permit, domid: 7, frame: dataGFN, ref: ref, length: 8, acc: Read, want: ErrBadDomain},
		{name: "guest's own domid", flags: permit, domid: domU, frame: dataGFN, ref: ref, length: 8, acc: Read, want: ErrBadDomain},
		{name: "unused entry", flags: 0, frame: dataGFN, ref: ref, length: 8, acc: Read, want: ErrNotPermitted},
		{name: "unused entry with stale flags", flags: GTFReadonly | GTFReading, frame: dataGFN, ref: ref, length: 8, acc: Read, want: ErrNotPermitted},
		{name: "accept transfer", flags: GTFAcceptTransfer, frame: dataGFN, ref: ref, length: 8, acc: Read, want: ErrNotPermitted},
		{name: "transitive", flags: GTFTransitive, frame: dataGFN, ref: ref, length: 8, acc: Read, want: ErrNotPermitted},
		{name: "sub-page is v2 only", flags: permit | GTFSubPage, frame: dataGFN, ref: ref, length: 8, acc: Read, want: ErrNotPermitted},
		{name: "read-only grant written", flags: permit | GTFReadonly, frame: dataGFN, ref: ref, length: 8, acc: Write, want: ErrReadOnly},
		{name: "ref beyond table", flags: permit, frame: dataGFN, ref: 2 * EntriesPerFrame, length: 8, acc: Read, want: ErrBadRef},
		{name: "huge ref", flags: permit, frame: dataGFN, ref: ^uint32(0), length: 8, acc: Read, want: ErrBadRef},
		{name: "frame outside ram", flags: permit, frame: ramSize / PageSize, ref: ref, length: 8, acc: Read, want: ErrBadPage},
		{name: "frame far outside ram", flags: permit, frame: ^uint32(0), ref: ref, length: 8, acc: Write, want: ErrBadPage},
		{name: "range crosses page", flags: permit, frame: dataGFN, ref: ref, offset: 4000, length: 97, acc: Read, want: ErrRange},
		{name: "length over a page", flags: permit, frame: dataGFN, ref: ref, length: PageSize + 1, acc: Read, want: ErrRange},
		{name: "offset wraps", flags: permit, frame: dataGFN, ref: ref, offset: ^uint32(0), length: 2, acc: Read, want: ErrRange},
		{name: "bad access kind", flags: permit, frame: dataGFN, ref: ref, length: 8, acc: Access(2), want: ErrInvalidAccess},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab, m := newTable(t, Options{})
			if c.ref < 2*EntriesPerFrame {
				grant(t, tab, m, c.ref, c.flags, c.domid, c.frame)
			}
			mp, err := tab.Acquire(backend, c.ref, c.offset, c.length, c.acc)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("Acquire = %v, want %v", err, c.want)
				}
				if c.ref < 2*EntriesPerFrame {
					if f := flagsOf(t, tab, m, c.ref); f != c.flags {
						t.Errorf("flags after failure %#x, want %#x unchanged", f, c.flags)
					}
				}
				if n := tab.heldRefs(); n != 0 {
					t.Errorf("%d refs held after failure", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			want := c.flags | GTFReading
			if c.acc == Write {
				want |= GTFWriting
			}
			if f := flagsOf(t, tab, m, c.ref); f != want {
				t.Errorf("flags while held %#x, want %#x", f, want)
			}
			if got := mem.GPA(c.frame)*PageSize + mem.GPA(c.offset); mp.GPA() != got {
				t.Errorf("GPA %#x, want %#x", mp.GPA(), got)
			}
			if b := mp.Bytes(); uint32(len(b)) != c.length || uint32(cap(b)) != c.length {
				t.Errorf("Bytes len %d cap %d, want %d", len(b), cap(b), c.length)
			}
			mp.Release()
			if f := flagsOf(t, tab, m, c.ref); f != c.flags {
				t.Errorf("flags after release %#x, want %#x", f, c.flags)
			}
			if _, d, fr := entry(t, tab, m, c.ref); d != c.domid || fr != c.frame {
				t.Errorf("entry domid %d frame %#x changed", d, fr)
			}
			if mp.Bytes() != nil {
				t.Error("Bytes after Release is not nil")
			}
		})
	}
}

func TestAcquireUnplacedFrame(t *testing.T) {
	tab, m := newTable(t, Options{})
	// Frame 3 placed, frame 2 not: the table has 4 frames.
	if err := tab.MapFrame(3, 0x13); err != nil {
		t.Fatal(err)
	}
	grant(t, tab, m, 3*EntriesPerFrame, GTFPermitAccess, backend, dataGFN)
	if _, err := tab.Acquire(backend, 2*EntriesPerFrame+5, 0, 8, Read); !errors.Is(err, ErrBadRef) {
		t.Errorf("ref in unplaced frame: %v, want ErrBadRef", err)
	}
	mp, err := tab.Acquire(backend, 3*EntriesPerFrame, 0, 8, Read)
	if err != nil {
		t.Fatalf("ref in placed frame 3: %v", err)
	}
	mp.Release()
	if !tab.RemoveFrame(0x13) {
		t.Fatal("RemoveFrame found no frame")
	}
	if _, err := tab.Acquire(backend, 3*EntriesPerFrame, 0, 8, Read); !errors.Is(err, ErrBadRef) {
		t.Errorf("ref in removed frame: %v, want ErrBadRef", err)
	}
}

func TestMappingAliasesGuestMemory(t *testing.T) {
	tab, m := newTable(t, Options{})
	grant(t, tab, m, 20, GTFPermitAccess, backend, dataGFN+1)
	mp, err := tab.Acquire(backend, 20, 0x100, 16, Write)
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Release()
	copy(mp.Bytes(), "hello, frontend!")
	got := make([]byte, 16)
	if err := m.ReadAt(got, (dataGFN+1)*PageSize+0x100); err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello, frontend!" {
		t.Errorf("guest memory has %q", got)
	}
	if mp.Ref() != 20 || mp.Access() != Write {
		t.Errorf("Ref %d Access %v", mp.Ref(), mp.Access())
	}
}

func TestEntryChangedWhileHeld(t *testing.T) {
	tab, m := newTable(t, Options{})
	const ref = 12
	grant(t, tab, m, ref, GTFPermitAccess, backend, dataGFN)
	held, err := tab.Acquire(backend, ref, 0, PageSize, Write)
	if err != nil {
		t.Fatal(err)
	}
	// The guest rewrites frame and domid under the held grant (keeping the
	// flags, as it cannot clear them).
	gpa := entryAddr(t, tab, ref)
	if err := m.Store32(gpa+entryFrame, dataGFN+5); err != nil {
		t.Fatal(err)
	}
	w, err := m.Load32(gpa)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Store32(gpa, w&0xffff|9<<16); err != nil { // domid 9
		t.Fatal(err)
	}
	// The held mapping keeps its memory.
	held.Bytes()[0] = 0xaa
	var b [1]byte
	if err := m.ReadAt(b[:], dataGFN*PageSize); err != nil || b[0] != 0xaa {
		t.Fatalf("held mapping no longer writes the original frame: %v %#x", err, b[0])
	}
	// While the ref is held, a new holder gets the frame captured at the
	// first hold (Xen's active entry), whatever the entry says now.
	second, err := tab.Acquire(backend, ref, 0, 8, Read)
	if err != nil {
		t.Fatalf("second holder: %v", err)
	}
	if second.GPA() != dataGFN*PageSize {
		t.Errorf("second holder got %#x, want the held frame %#x", second.GPA(), dataGFN*PageSize)
	}
	// Another domain still cannot use it.
	if _, err := tab.Acquire(9, ref, 0, 8, Read); !errors.Is(err, ErrBadDomain) {
		t.Errorf("acquire by d9 while held by d0: %v, want ErrBadDomain", err)
	}
	second.Release()
	held.Release()
	if f := flagsOf(t, tab, m, ref); f != GTFPermitAccess {
		t.Errorf("flags after release %#x", f)
	}
	// Now the rewrite takes effect: the entry names d9 and the new frame.
	if _, err := tab.Acquire(backend, ref, 0, 8, Read); !errors.Is(err, ErrBadDomain) {
		t.Errorf("acquire by d0 after rewrite: %v, want ErrBadDomain", err)
	}
	mp, err := tab.Acquire(9, ref, 0, 8, Read)
	if err != nil {
		t.Fatalf("acquire by d9 after rewrite: %v", err)
	}
	if mp.GPA() != (dataGFN+5)*PageSize {
		t.Errorf("new holder got %#x, want the new frame", mp.GPA())
	}
	mp.Release()
}

func TestConcurrentHoldersFlags(t *testing.T) {
	tab, m := newTable(t, Options{})
	const ref = 30
	grant(t, tab, m, ref, GTFPermitAccess, backend, dataGFN)
	acq := func(acc Access) *Mapping {
		t.Helper()
		mp, err := tab.Acquire(backend, ref, 0, 8, acc)
		if err != nil {
			t.Fatalf("Acquire %v: %v", acc, err)
		}
		return mp
	}
	check := func(what string, want uint16) {
		t.Helper()
		if f := flagsOf(t, tab, m, ref); f != GTFPermitAccess|want {
			t.Errorf("%s: flags %#x, want %#x", what, f, GTFPermitAccess|want)
		}
	}
	r1, r2 := acq(Read), acq(Read)
	w1, w2 := acq(Write), acq(Write)
	check("2 readers 2 writers", GTFReading|GTFWriting)
	w1.Release()
	check("one writer left", GTFReading|GTFWriting)
	w1.Release() // idempotent: must not drop w2's hold
	check("double release", GTFReading|GTFWriting)
	w2.Release()
	check("readers only", GTFReading)
	r1.Release()
	check("one reader left", GTFReading)
	w3 := acq(Write)
	check("writer again", GTFReading|GTFWriting)
	r2.Release()
	check("writer only", GTFReading|GTFWriting)
	w3.Release()
	check("none", 0)
	if n := tab.heldRefs(); n != 0 {
		t.Errorf("%d refs still held", n)
	}
}

func TestGuestRevocation(t *testing.T) {
	for _, acc := range []Access{Read, Write} {
		t.Run(acc.String(), func(t *testing.T) {
			tab, m := newTable(t, Options{})
			const ref = 40
			grant(t, tab, m, ref, GTFPermitAccess, backend, dataGFN)
			mp, err := tab.Acquire(backend, ref, 0, 8, acc)
			if err != nil {
				t.Fatal(err)
			}
			if endForeignAccess(t, tab, m, ref) {
				t.Fatal("guest revoked a held grant")
			}
			mp.Release()
			if !endForeignAccess(t, tab, m, ref) {
				t.Fatal("guest could not revoke a released grant")
			}
			if _, err := tab.Acquire(backend, ref, 0, 8, acc); !errors.Is(err, ErrNotPermitted) {
				t.Errorf("acquire after revocation: %v, want ErrNotPermitted", err)
			}
		})
	}
}

func TestWriteUpgradeOfReadOnlyHeld(t *testing.T) {
	tab, m := newTable(t, Options{})
	const ref = 50
	grant(t, tab, m, ref, GTFPermitAccess, backend, dataGFN)
	r, err := tab.Acquire(backend, ref, 0, 8, Read)
	if err != nil {
		t.Fatal(err)
	}
	// The guest may flip GTF_readonly while the grant is held.
	gpa := entryAddr(t, tab, ref)
	if _, err := m.Or32(gpa, GTFReadonly); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Acquire(backend, ref, 0, 8, Write); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write upgrade of read-only grant: %v, want ErrReadOnly", err)
	}
	if f := flagsOf(t, tab, m, ref); f != GTFPermitAccess|GTFReadonly|GTFReading {
		t.Errorf("flags %#x after refused upgrade", f)
	}
	if _, err := m.And32(gpa, ^uint32(GTFReadonly)); err != nil {
		t.Fatal(err)
	}
	w, err := tab.Acquire(backend, ref, 0, 8, Write)
	if err != nil {
		t.Fatalf("write upgrade: %v", err)
	}
	r.Release()
	if f := flagsOf(t, tab, m, ref); f != GTFPermitAccess|GTFReading|GTFWriting {
		t.Errorf("flags %#x with the writer left", f)
	}
	w.Release()
	if f := flagsOf(t, tab, m, ref); f != GTFPermitAccess {
		t.Errorf("flags %#x after all released", f)
	}
}

func TestCompareAndSwapRetries(t *testing.T) {
	for _, c := range []struct {
		name  string
		flips int // how many compare-and-swaps the guest spoils
		want  error
	}{
		{"no contention", 0, nil},
		{"four spoiled", 4, nil},
		{"five spoiled", 5, ErrBusy},
		{"always spoiled", 1000, ErrBusy},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab, m := newTable(t, Options{})
			const ref = 60
			grant(t, tab, m, ref, GTFPermitAccess, backend, dataGFN)
			n := 0
			tab.beforeCAS = func(gpa mem.GPA) {
				if n < c.flips {
					n++
					w, _ := m.Load32(gpa) // the guest toggles a cache attribute
					_ = m.Store32(gpa, w^GTFPWT)
				}
			}
			mp, err := tab.Acquire(backend, ref, 0, 8, Write)
			if !errors.Is(err, c.want) {
				t.Fatalf("Acquire = %v, want %v", err, c.want)
			}
			f := flagsOf(t, tab, m, ref) &^ GTFPWT
			if c.want != nil {
				if f != GTFPermitAccess || tab.heldRefs() != 0 {
					t.Errorf("flags %#x, %d held after failure", f, tab.heldRefs())
				}
				return
			}
			if f != GTFPermitAccess|GTFReading|GTFWriting {
				t.Errorf("flags %#x while held", f)
			}
			mp.Release()
		})
	}
}

func TestCopyGrantHelpers(t *testing.T) {
	tab, m := newTable(t, Options{})
	grant(t, tab, m, 70, GTFPermitAccess, backend, dataGFN)
	grant(t, tab, m, 71, GTFPermitAccess|GTFReadonly, backend, dataGFN+1)
	grant(t, tab, m, 72, GTFPermitAccess|GTFSubPage, backend, dataGFN+2)
	if err := tab.CopyToGrant(backend, 70, 4090, []byte("abcdef")); err != nil {
		t.Fatalf("CopyToGrant: %v", err)
	}
	got := make([]byte, 6)
	if err := tab.CopyFromGrant(backend, 70, 4090, got); err != nil || string(got) != "abcdef" {
		t.Fatalf("CopyFromGrant = %q, %v", got, err)
	}
	if err := tab.CopyToGrant(backend, 70, 4091, []byte("abcdef")); !errors.Is(err, ErrRange) {
		t.Errorf("copy across the page end: %v, want ErrRange", err)
	}
	if err := tab.CopyFromGrant(backend, 70, 0, make([]byte, PageSize+1)); !errors.Is(err, ErrRange) {
		t.Errorf("copy of more than a page: %v, want ErrRange", err)
	}
	if err := tab.CopyToGrant(backend, 71, 0, []byte("x")); !errors.Is(err, ErrReadOnly) {
		t.Errorf("copy to a read-only grant: %v, want ErrReadOnly", err)
	}
	if err := tab.CopyFromGrant(backend, 71, 0, got); err != nil {
		t.Errorf("copy from a read-only grant: %v", err)
	}
	// GNTTABOP_copy does not check GTF_sub_page in a v1 table.
	if err := tab.CopyFromGrant(backend, 72, 0, got); err != nil {
		t.Errorf("copy from a sub-page-flagged v1 grant: %v", err)
	}
	if err := tab.CopyFromGrant(3, 70, 0, got); !errors.Is(err, ErrBadDomain) {
		t.Errorf("copy by another domain: %v, want ErrBadDomain", err)
	}
	for _, ref := range []uint32{70, 71, 72} {
		if f := flagsOf(t, tab, m, ref); f&(GTFReading|GTFWriting) != 0 {
			t.Errorf("ref %d flags %#x after copies", ref, f)
		}
	}
	if !bytes.Equal(got, []byte{0, 0, 0, 0, 0, 0}) {
		t.Errorf("copy from zero pages gave %q", got)
	}
}

func TestStatusAndErrno(t *testing.T) {
	for _, c := range []struct {
		err   error
		st    int16
		errno int64
	}{
		{nil, GntstOkay, 0},
		{ErrBadRef, GntstBadGntref, -22},
		{ErrNotPermitted, GntstGeneralError, -22},
		{ErrBadDomain, GntstGeneralError, -22},
		{ErrReadOnly, GntstGeneralError, -22},
		{ErrBusy, GntstGeneralError, -22},
		{ErrEntryChanged, GntstGeneralError, -22},
		{ErrRange, GntstBadCopyArg, -22},
		{ErrBadPage, GntstBadPage, -22},
		{ErrNoSuchDomain, GntstBadDomain, -22},
		{ErrPermissionDenied, GntstPermissionDenied, -22},
		{ErrFrameIndex, GntstGeneralError, -22},
		{ErrFrameAddress, GntstGeneralError, -22},
		{mem.ErrOutOfRange, GntstGeneralError, -14},
		{errors.New("other"), GntstGeneralError, -22},
	} {
		if got := Status(c.err); got != c.st {
			t.Errorf("Status(%v) = %d, want %d", c.err, got, c.st)
		}
		if got := ErrnoOf(c.err).Ret(); c.err != nil && got != c.errno {
			t.Errorf("ErrnoOf(%v) = %d, want %d", c.err, got, c.errno)
		}
	}
	if ErrnoOf(nil) != 0 {
		t.Error("ErrnoOf(nil) != 0")
	}
}
