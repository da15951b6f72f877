package gnttab

import (
	"bytes"
	"errors"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// copyArg is one gnttab_copy as a test writes it.
type copyArg struct {
	srcU, dstU     uint64
	srcDom, dstDom uint16
	srcOff, dstOff uint16
	len, flags     uint16
}

func (c copyArg) encode() []byte {
	b := make([]byte, copySize)
	put64(b, copySource+copyPtrU, c.srcU)
	put16(b, copySource+copyPtrDomID, c.srcDom)
	put16(b, copySource+copyPtrOffset, c.srcOff)
	put64(b, copyDest+copyPtrU, c.dstU)
	put16(b, copyDest+copyPtrDomID, c.dstDom)
	put16(b, copyDest+copyPtrOffset, c.dstOff)
	put16(b, copyLen, c.len)
	put16(b, copyFlags, c.flags)
	put16(b, copyStatus, 0x5555)
	return b
}

func TestGnttabCopy(t *testing.T) {
	const (
		self  = xen.DomIDSelf
		src   = dataGFN     // source data page
		dst   = dataGFN + 1 // destination page
		rw    = 200         // grants src page rw to the guest itself
		ro    = 201         // grants dst page read-only to the guest itself
		toDst = 202         // grants dst page rw to the guest itself
		forBE = 203         // grants src page to the backend
		huge  = 204         // grants a frame outside RAM to the guest
	)
	pattern := bytes.Repeat([]byte("0123456789abcdef"), PageSize/16)
	for _, c := range []struct {
		name    string
		op      copyArg
		want    int16
		srcAt   uint64 // byte address copied from (for success)
		dstAt   uint64 // byte address copied to
		touched bool   // destination page changed
	}{
		{name: "gmfn to gmfn", op: copyArg{srcU: src, dstU: dst, srcDom: self, dstDom: self, srcOff: 16, dstOff: 100, len: 64},
			want: GntstOkay, srcAt: src*PageSize + 16, dstAt: dst*PageSize + 100},
		{name: "whole page", op: copyArg{srcU: src, dstU: dst, srcDom: self, dstDom: self, len: PageSize},
			want: GntstOkay, srcAt: src * PageSize, dstAt: dst * PageSize},
		{name: "gref to gmfn", op: copyArg{srcU: rw, dstU: dst, srcDom: self, dstDom: self, srcOff: 8, len: 8, flags: GntcopySourceGref},
			want: GntstOkay, srcAt: src*PageSize + 8, dstAt: dst * PageSize},
		{name: "gref by own id", op: copyArg{srcU: rw, dstU: dst, srcDom: domU, dstDom: self, len: 8, flags: GntcopySourceGref},
			want: GntstOkay, srcAt: src * PageSize, dstAt: dst * PageSize},
		{name: "gmfn to gref", op: copyArg{srcU: src, dstU: toDst, srcDom: self, dstDom: self, dstOff: 4000, len: 96, flags: GntcopyDestGref},
			want: GntstOkay, srcAt: src * PageSize, dstAt: dst*PageSize + 4000},
		{name: "read-only gref as source", op: copyArg{srcU: ro, dstU: src + 2, srcDom: self, dstDom: self, len: 8, flags: GntcopySourceGref},
			want: GntstOkay},
		{name: "zero length with garbage", op: copyArg{srcU: ^uint64(0), dstU: ^uint64(0), srcDom: 99, dstDom: 99, srcOff: 0xffff, len: 0, flags: 3},
			want: GntstOkay},
		{name: "read-only gref as destination", op: copyArg{srcU: src, dstU: ro, srcDom: self, dstDom: self, len: 8, flags: GntcopyDestGref},
			want: GntstGeneralError},
		{name: "grant for another domain", op: copyArg{srcU: forBE, dstU: dst, srcDom: self, dstDom: self, len: 8, flags: GntcopySourceGref},
			want: GntstGeneralError},
		{name: "source crosses page", op: copyArg{srcU: src, dstU: dst, srcDom: self, dstDom: self, srcOff: 4000, len: 97},
			want: GntstBadCopyArg},
		{name: "dest crosses page", op: copyArg{srcU: src, dstU: dst, srcDom: self, dstDom: self, dstOff: 0xffff, len: 1},
			want: GntstBadCopyArg},
		{name: "longer than a page", op: copyArg{srcU: src, dstU: dst, srcDom: self, dstDom: self, len: PageSize + 1},
			want: GntstBadCopyArg},
		{name: "bad gref beats page crossing", op: copyArg{srcU: 5000, dstU: dst, srcDom: self, dstDom: self, srcOff: 4095, len: 2, flags: GntcopySourceGref},
			want: GntstBadGntref},
		{name: "gmfn with own numeric id", op: copyArg{srcU: src, dstU: dst, srcDom: domU, dstDom: self, len: 8},
			want: GntstPermissionDenied},
		{name: "gmfn of backend", op: copyArg{srcU: src, dstU: dst, srcDom: self, dstDom: backend, len: 8},
			want: GntstPermissionDenied},
		{name: "unknown source domain", op: copyArg{srcU: 1, dstU: dst, srcDom: 42, dstDom: self, len: 8, flags: GntcopySourceGref},
			want: GntstBadDomain},
		{name: "unknown dest domain", op: copyArg{srcU: src, dstU: 1, srcDom: self, dstDom: 42, len: 8, flags: GntcopyDestGref},
			want: GntstBadDomain},
		{name: "backend gref", op: copyArg{srcU: 1, dstU: dst, srcDom: backend, dstDom: self, len: 8, flags: GntcopySourceGref},
			want: GntstBadGntref},
		{name: "source gmfn outside ram", op: copyArg{srcU: ramSize / PageSize, dstU: dst, srcDom: self, dstDom: self, len: 8},
			want: GntstBadPage},
		{name: "dest gmfn outside ram", op: copyArg{srcU: src, dstU: ^uint64(0), srcDom: self, dstDom: self, len: 8},
			want: GntstBadPage},
		{name: "granted frame outside ram", op: copyArg{srcU: huge, dstU: dst, srcDom: self, dstDom: self, len: 8, flags: GntcopySourceGref},
			want: GntstBadPage},
		{name: "gref high bits ignored", op: copyArg{srcU: 1<<40 | rw, dstU: dst, srcDom: self, dstDom: self, len: 8, flags: GntcopySourceGref},
			want: GntstOkay, srcAt: src * PageSize, dstAt: dst * PageSize},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab, m := newTable(t, Options{})
			grant(t, tab, m, rw, GTFPermitAccess, domU, src)
			grant(t, tab, m, ro, GTFPermitAccess|GTFReadonly, domU, dst)
			grant(t, tab, m, toDst, GTFPermitAccess, domU, dst)
			grant(t, tab, m, forBE, GTFPermitAccess, backend, src)
			grant(t, tab, m, huge, GTFPermitAccess, domU, 1<<30)
			writeArg(t, m, src*PageSize, pattern)
			writeArg(t, m, argGPA, c.op.encode())
			if ret := call(tab, m, GnttabopCopy, argGPA, 1); ret != 0 {
				t.Fatalf("copy = %d", ret)
			}
			if st := status(t, m, argGPA+copyStatus); st != c.want {
				t.Fatalf("status %d, want %d", st, c.want)
			}
			page := make([]byte, PageSize)
			_ = m.ReadAt(page, dst*PageSize)
			if c.want == GntstOkay && c.dstAt != 0 {
				want := make([]byte, c.op.len)
				got := make([]byte, c.op.len)
				_ = m.ReadAt(want, mem.GPA(c.srcAt))
				_ = m.ReadAt(got, mem.GPA(c.dstAt))
				if !bytes.Equal(got, want) {
					t.Errorf("copied %q, want %q", got, want)
				}
			} else if c.want != GntstOkay && !bytes.Equal(page, make([]byte, PageSize)) {
				t.Error("failed copy wrote the destination")
			}
			for _, ref := range []uint32{rw, ro, toDst, forBE, huge} {
				if f := flagsOf(t, tab, m, ref); f&(GTFReading|GTFWriting) != 0 {
					t.Errorf("ref %d left with flags %#x", ref, f)
				}
			}
			if n := tab.heldRefs(); n != 0 {
				t.Errorf("%d refs held after copy", n)
			}
		})
	}
}

func TestGnttabCopyBatchAndFaults(t *testing.T) {
	tab, m := newTable(t, Options{})
	grant(t, tab, m, 300, GTFPermitAccess, domU, dataGFN)
	writeArg(t, m, dataGFN*PageSize, []byte("grant copy"))
	ops := []copyArg{
		{srcU: 300, dstU: dataGFN + 1, srcDom: xen.DomIDSelf, dstDom: xen.DomIDSelf, len: 10, flags: GntcopySourceGref},
		{srcU: 301, dstU: dataGFN + 1, srcDom: xen.DomIDSelf, dstDom: xen.DomIDSelf, len: 10, flags: GntcopySourceGref},
		// Same ref as source and destination: read then write pin.
		{srcU: 300, dstU: 300, srcDom: xen.DomIDSelf, dstDom: xen.DomIDSelf, dstOff: 100, len: 10, flags: GntcopySourceGref | GntcopyDestGref},
	}
	var b []byte
	for _, op := range ops {
		b = append(b, op.encode()...)
	}
	writeArg(t, m, argGPA, b)
	if ret := call(tab, m, GnttabopCopy, argGPA, uint64(len(ops))); ret != 0 {
		t.Fatalf("copy = %d", ret)
	}
	for i, want := range []int16{GntstOkay, GntstGeneralError, GntstOkay} {
		if st := status(t, m, argGPA+uint64(i*copySize)+copyStatus); st != want {
			t.Errorf("entry %d: status %d, want %d", i, st, want)
		}
	}
	got := make([]byte, 10)
	_ = m.ReadAt(got, dataGFN*PageSize+100)
	if string(got) != "grant copy" {
		t.Errorf("self copy gave %q", got)
	}
	// An entry straddling the end of RAM faults after the ones before it.
	at := uint64(ramSize - copySize)
	writeArg(t, m, at, ops[0].encode())
	if ret := call(tab, m, GnttabopCopy, at, 2); ret != xen.EFAULT.Ret() {
		t.Errorf("copy past the end of ram = %d", ret)
	}
	if st := status(t, m, at+copyStatus); st != GntstOkay {
		t.Errorf("entry before the fault: status %d", st)
	}
	if ret := call(tab, m, GnttabopCopy, badGVA, 1); ret != xen.EFAULT.Ret() {
		t.Errorf("copy bad pointer = %d", ret)
	}
	// A huge count ends at the first fault; nothing is sized by it.
	if ret := call(tab, m, GnttabopCopy, ramSize-2*copySize, 1<<31-1); ret != xen.EFAULT.Ret() {
		t.Errorf("huge count = %d", ret)
	}
}

func TestGnttabCopyRespectsBackendHold(t *testing.T) {
	tab, m := newTable(t, Options{})
	grant(t, tab, m, 310, GTFPermitAccess, backend, dataGFN)
	held, err := tab.Acquire(backend, 310, 0, 8, Read)
	if err != nil {
		t.Fatal(err)
	}
	// The guest names its own grant to the backend in a copy: the entry is
	// for d0, and the active entry is held by d0.
	op := copyArg{srcU: 310, dstU: dataGFN + 1, srcDom: xen.DomIDSelf, dstDom: xen.DomIDSelf, len: 8, flags: GntcopySourceGref}
	writeArg(t, m, argGPA, op.encode())
	if ret := call(tab, m, GnttabopCopy, argGPA, 1); ret != 0 {
		t.Fatal(ret)
	}
	if st := status(t, m, argGPA+copyStatus); st != GntstGeneralError {
		t.Errorf("status %d, want general error", st)
	}
	held.Release()
	if f := flagsOf(t, tab, m, 310); f != GTFPermitAccess {
		t.Errorf("flags %#x", f)
	}
}

func TestCopyUpgradeChecksFrame(t *testing.T) {
	tab, m := newTable(t, Options{})
	const ref = 320
	grant(t, tab, m, ref, GTFPermitAccess, domU, dataGFN)
	// The guest's own read hold (as a copy source would take), then the
	// guest changes the frame; a write hold by copy must notice.
	tab.mu.Lock()
	_, err := tab.pin(domU, ref, false, false)
	tab.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Store32(entryAddr(t, tab, ref)+entryFrame, dataGFN+1); err != nil {
		t.Fatal(err)
	}
	err = tab.CopyToGrant(domU, ref, 0, []byte{1})
	if !errors.Is(err, ErrEntryChanged) || Status(err) != GntstGeneralError {
		t.Fatalf("write upgrade after frame change: %v", err)
	}
	if f := flagsOf(t, tab, m, ref); f != GTFPermitAccess|GTFReading {
		t.Errorf("flags %#x: the reader's flag must stay, writing must clear", f)
	}
	tab.mu.Lock()
	tab.unpin(ref, false)
	tab.mu.Unlock()
	if f := flagsOf(t, tab, m, ref); f != GTFPermitAccess {
		t.Errorf("flags %#x after release", f)
	}
}
