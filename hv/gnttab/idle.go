package gnttab

// unhold drops a hold of kind write on ref (unpin) and, if that was the
// last hold of any ref, runs the WhenIdle functions, without mu held.
func (t *Table) unhold(ref uint32, write bool) {
	t.mu.Lock()
	t.unpin(ref, write)
	var fns []func()
	if t.nActive == 0 {
		fns, t.idle = t.idle, nil
	}
	t.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// WhenIdle runs fn once no backend holds any grant of the table: at once
// if none is held, otherwise in the goroutine whose Release (or copy)
// drops the last hold. The monitor uses it to unmap a destroyed guest's
// RAM only after every backend has let go of the ring and data pages it
// still reads or writes; a backend that never releases keeps the memory
// mapped (a leak, never a fault).
func (t *Table) WhenIdle(fn func()) {
	t.mu.Lock()
	if t.nActive != 0 {
		t.idle = append(t.idle, fn)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	fn()
}

// Held returns the number of refs held by backends now.
func (t *Table) Held() int { return t.heldRefs() }
