package evtchn

import (
	"sync/atomic"

	"github.com/xenolith/xenolith/hv/mem"
)

// word is one 64-bit word of 2-level state: in guest memory at gpa, in a
// monitor-side shadow, or (neither) a word that reads as zero and ignores
// writes (the mask bitmap before shared_info is placed). Every access is
// atomic. A guest-memory access that fails (only possible after the memory
// is closed) acts as if the bit were already in the state the caller wants,
// which stops the raise or unmask sequence.
type word struct {
	m      *mem.Memory
	gpa    mem.GPA
	shadow *atomic.Uint64
}

// testAndSet sets bit and reports whether it was set before.
func (w word) testAndSet(bit uint64) bool {
	switch {
	case w.shadow != nil:
		return w.shadow.Or(bit)&bit != 0
	case w.m != nil:
		old, err := w.m.Or64(w.gpa, bit)
		return err != nil || old&bit != 0
	}
	return true
}

// testAndClear clears bit and reports whether it was set before.
func (w word) testAndClear(bit uint64) bool {
	switch {
	case w.shadow != nil:
		return w.shadow.And(^bit)&bit != 0
	case w.m != nil:
		old, err := w.m.And64(w.gpa, ^bit)
		return err == nil && old&bit != 0
	}
	return false
}

// test reports whether bit is set.
func (w word) test(bit uint64) bool {
	switch {
	case w.shadow != nil:
		return w.shadow.Load()&bit != 0
	case w.m != nil:
		v, err := w.m.Load64(w.gpa)
		return err == nil && v&bit != 0
	}
	return false
}

// store replaces the word.
func (w word) store(v uint64) {
	switch {
	case w.shadow != nil:
		w.shadow.Store(v)
	case w.m != nil:
		_ = w.m.Store64(w.gpa, v)
	}
}

// portBit returns the bit of port p in its bitmap word.
func portBit(p Port) uint64 { return 1 << (uint(p) % wordBits) }

// selBit returns the bit of port p's word in evtchn_pending_sel.
func selBit(p Port) uint64 { return 1 << (uint(p) / wordBits) }

// pendingWord returns the evtchn_pending word holding port p (p < NrPorts).
// Caller holds t.mu.
func (t *Table) pendingWord(p Port) word {
	i := uint(p) / wordBits
	if !t.placed {
		return word{shadow: &t.shadowPending[i]}
	}
	return word{m: t.mem, gpa: t.shinfo + shinfoEvtchnPending + mem.GPA(8*i)}
}

// maskWord returns the evtchn_mask word holding port p. Before shared_info
// is placed every port is unmasked (Xen's page starts cleared). Caller holds
// t.mu.
func (t *Table) maskWord(p Port) word {
	if !t.placed {
		return word{}
	}
	return word{m: t.mem, gpa: t.shinfo + shinfoEvtchnMask + mem.GPA(8*(uint(p)/wordBits))}
}

// vcpuInfoLocked returns where vCPU v's vcpu_info lives in guest memory, as
// Xen's v->vcpu_info_area.map: the registered area, else the legacy slot of
// a placed shared_info, else ok is false (the shadow words are used).
// Caller holds t.mu.
func (t *Table) vcpuInfoLocked(v int) (gpa mem.GPA, ok bool) {
	s := &t.vcpus[v]
	switch {
	case s.registered:
		return s.info, true
	case v < LegacyVCPUs && t.placed:
		return t.shinfo + shinfoVCPUInfo + mem.GPA(v*vcpuInfoSize), true
	}
	return 0, false
}

// selWord returns vCPU v's evtchn_pending_sel. Caller holds t.mu.
func (t *Table) selWord(v int) word {
	if gpa, ok := t.vcpuInfoLocked(v); ok {
		return word{m: t.mem, gpa: gpa + vcpuInfoPendingSel}
	}
	return word{shadow: &t.vcpus[v].shadowSel}
}

// upcallWord returns the aligned word of vCPU v's vcpu_info that holds
// evtchn_upcall_pending (bit 0) and evtchn_upcall_mask (bits 8-15).
// Caller holds t.mu.
func (t *Table) upcallWord(v int) word {
	if gpa, ok := t.vcpuInfoLocked(v); ok {
		return word{m: t.mem, gpa: gpa + vcpuInfoUpcallWord}
	}
	return word{shadow: &t.vcpus[v].shadowUpcall}
}

// effects collects what a locked operation must do once the locks are
// dropped: upcalls, poll wake-ups and endpoint signals. The zero value is
// empty; it holds no pointer to itself, so it stays on the caller's stack
// and a raise does not allocate.
type effects struct {
	nUp   int
	up    [2]int // the first upcalls
	more  []int  // further upcalls (rare)
	polls []int
	eps   []*Endpoint
}

func (fx *effects) upcall(v int) {
	if fx.nUp < len(fx.up) {
		fx.up[fx.nUp] = v
		fx.nUp++
		return
	}
	fx.more = append(fx.more, v)
}

// deliver performs the collected effects. Caller holds no Table lock.
func (t *Table) deliver(fx *effects) {
	for _, v := range fx.up[:fx.nUp] {
		t.upcall(v)
	}
	for _, v := range fx.more {
		t.upcall(v)
	}
	for _, v := range fx.polls {
		t.stats.pollWakes.Add(1)
		if t.waker != nil {
			t.waker.PollWake(v)
		}
	}
	for _, ep := range fx.eps {
		ep.signal()
	}
}

func (t *Table) upcall(v int) {
	t.stats.upcalls.Add(1)
	if t.up != nil {
		t.up.Upcall(v)
	}
}

// setPendingLocked is evtchn_2l_set_pending for port p with notify vCPU v,
// in the strict order event_2l.c requires: test-and-set the pending bit
// (stop if it was set); unless the port is masked, test-and-set the word's
// bit in v's evtchn_pending_sel and, if it was clear, mark events pending
// (vcpu_mark_events_pending: test-and-set upcall_pending, upcall if it was
// clear); then wake pollers of p (evtchn_check_pollers). Caller holds t.mu
// (reading suffices); p is valid.
func (t *Table) setPendingLocked(p Port, v int, fx *effects) {
	t.stats.raises.Add(1)
	if t.pendingWord(p).testAndSet(portBit(p)) {
		return
	}
	if !t.maskWord(p).test(portBit(p)) && !t.selWord(v).testAndSet(selBit(p)) {
		t.markEventsPendingLocked(v, fx)
	}
	t.checkPollers(p, fx)
}

// markEventsPendingLocked mirrors vcpu_mark_events_pending (x86).
func (t *Table) markEventsPendingLocked(v int, fx *effects) {
	if !t.upcallWord(v).testAndSet(upcallPendingBit) {
		fx.upcall(v)
	}
}

// clearPendingLocked is evtchn_2l_clear_pending.
func (t *Table) clearPendingLocked(p Port) {
	t.pendingWord(p).testAndClear(portBit(p))
}

// unmaskLocked is evtchn_2l_unmask for port p with notify vCPU v: if
// clearing the mask bit finds it set, the port pending and the selector bit
// clear, mark events pending.
func (t *Table) unmaskLocked(p Port, v int, fx *effects) {
	if t.maskWord(p).testAndClear(portBit(p)) &&
		t.pendingWord(p).test(portBit(p)) &&
		!t.selWord(v).testAndSet(selBit(p)) {
		t.markEventsPendingLocked(v, fx)
	}
}

// checkPollers mirrors evtchn_check_pollers: every vCPU polling p, or
// polling several ports, stops polling and is woken.
func (t *Table) checkPollers(p Port, fx *effects) {
	if t.pollers.Load() == 0 {
		return
	}
	for i := range t.vcpus {
		s := &t.vcpus[i]
		cur := s.poll.Load()
		if (cur == pollAny || cur == int64(p)) && s.poll.CompareAndSwap(cur, pollNone) {
			t.pollers.Add(-1)
			fx.polls = append(fx.polls, i)
		}
	}
}
