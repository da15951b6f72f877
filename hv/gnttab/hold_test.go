package gnttab

import (
	"errors"
	"testing"
)

// TestAcquireHold checks that AcquireHold validates as Acquire does and that
// ReleaseHolds clears the flags, tolerates released and zero Holds, and runs
// WhenIdle functions once nothing is held.
func TestAcquireHold(t *testing.T) {
	permit := uint16(GTFPermitAccess)
	for _, c := range []struct {
		name           string
		flags          uint16
		ref            uint32
		offset, length uint32
		acc            Access
		want           error
	}{
		{name: "read", flags: permit, ref: 10, length: PageSize, acc: Read},
		{name: "write part", flags: permit, ref: 10, offset: 512, length: 1024, acc: Write},
		{name: "read-only written", flags: permit | GTFReadonly, ref: 10, length: 8, acc: Write, want: ErrReadOnly},
		{name: "unused entry", flags: 0, ref: 10, length: 8, acc: Read, want: ErrNotPermitted},
		{name: "ref beyond table", flags: permit, ref: 2 * EntriesPerFrame, length: 8, acc: Read, want: ErrBadRef},
		{name: "range crosses page", flags: permit, ref: 10, offset: 4000, length: 97, acc: Read, want: ErrRange},
		{name: "bad access kind", flags: permit, ref: 10, length: 8, acc: Access(7), want: ErrInvalidAccess},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab, m := newTable(t, Options{})
			if c.ref < 2*EntriesPerFrame {
				grant(t, tab, m, c.ref, c.flags, backend, dataGFN)
			}
			h, err := tab.AcquireHold(backend, c.ref, c.offset, c.length, c.acc)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("AcquireHold = %v, want %v", err, c.want)
				}
				if n := tab.Held(); n != 0 {
					t.Errorf("%d refs held after failure", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("AcquireHold: %v", err)
			}
			want := c.flags | GTFReading
			if c.acc == Write {
				want |= GTFWriting
			}
			if f := flagsOf(t, tab, m, c.ref); f != want {
				t.Errorf("flags while held %#x, want %#x", f, want)
			}
			if b := h.Bytes(); uint32(len(b)) != c.length || h.Ref() != c.ref {
				t.Errorf("Bytes len %d ref %d, want %d, %d", len(b), h.Ref(), c.length, c.ref)
			}
			// A second holder (a Mapping) keeps the ref held.
			mp, err := tab.Acquire(backend, c.ref, 0, 8, Read)
			if err != nil {
				t.Fatalf("Acquire beside a Hold: %v", err)
			}
			idle := false
			tab.WhenIdle(func() { idle = true })
			hs := []Hold{h, {}}
			tab.ReleaseHolds(hs)
			if hs[0].Bytes() != nil || tab.Held() != 1 || idle {
				t.Fatalf("after ReleaseHolds: bytes %v, held %d, idle %v", hs[0].Bytes() != nil, tab.Held(), idle)
			}
			tab.ReleaseHolds(hs) // twice: harmless
			if f := flagsOf(t, tab, m, c.ref); f != c.flags|GTFReading {
				t.Errorf("flags with the Mapping left %#x, want %#x", f, c.flags|GTFReading)
			}
			mp.Release()
			if f := flagsOf(t, tab, m, c.ref); f != c.flags || tab.Held() != 0 || !idle {
				t.Errorf("after the last release: flags %#x (want %#x), held %d, idle %v", f, c.flags, tab.Held(), idle)
			}
		})
	}
}

// TestHoldRevocation checks that the guest cannot end access to a ref held
// with AcquireHold, and can once it is released.
func TestHoldRevocation(t *testing.T) {
	tab, m := newTable(t, Options{})
	grant(t, tab, m, 12, GTFPermitAccess, backend, dataGFN)
	h, err := tab.AcquireHold(backend, 12, 0, PageSize, Write)
	if err != nil {
		t.Fatal(err)
	}
	if endForeignAccess(t, tab, m, 12) {
		t.Fatal("guest revoked a held grant")
	}
	tab.ReleaseHolds([]Hold{h})
	if !endForeignAccess(t, tab, m, 12) {
		t.Fatal("guest could not revoke a released grant")
	}
	if _, err := tab.AcquireHold(backend, 12, 0, 8, Read); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("AcquireHold of a revoked grant = %v, want ErrNotPermitted", err)
	}
}
