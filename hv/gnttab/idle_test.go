package gnttab

import "testing"

// TestWhenIdle checks that WhenIdle runs at once without holds, and
// otherwise exactly once, when the last of several holds (mappings and a
// failed acquisition in between) is released.
func TestWhenIdle(t *testing.T) {
	tab, m := newTable(t, Options{})
	ran := 0
	tab.WhenIdle(func() { ran++ })
	if ran != 1 {
		t.Fatalf("WhenIdle without holds ran %d times, want 1", ran)
	}
	grant(t, tab, m, 10, GTFPermitAccess, backend, dataGFN)
	grant(t, tab, m, 11, GTFPermitAccess|GTFReadonly, backend, dataGFN+1)
	a, err := tab.Acquire(backend, 10, 0, PageSize, Write)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tab.Acquire(backend, 11, 0, 8, Read)
	if err != nil {
		t.Fatal(err)
	}
	ran = 0
	tab.WhenIdle(func() { ran++ })
	tab.WhenIdle(func() { ran += 10 })
	if _, err := tab.Acquire(backend, 11, 0, 8, Write); err == nil {
		t.Fatal("write hold of a read-only grant succeeded")
	}
	a.Release()
	a.Release()
	if ran != 0 || tab.Held() != 1 {
		t.Fatalf("after one release: ran %d, %d held", ran, tab.Held())
	}
	var buf [8]byte
	if err := tab.CopyFromGrant(backend, 11, 0, buf[:]); err != nil {
		t.Fatal(err)
	}
	if ran != 0 {
		t.Fatal("ran while a hold remained")
	}
	b.Release()
	if ran != 11 || tab.Held() != 0 {
		t.Fatalf("after the last release: ran %d (want 11), %d held", ran, tab.Held())
	}
	// A transient copy alone does not run functions registered earlier twice.
	if err := tab.CopyFromGrant(backend, 11, 0, buf[:]); err != nil {
		t.Fatal(err)
	}
	if ran != 11 {
		t.Fatalf("ran %d after a later copy", ran)
	}
}
