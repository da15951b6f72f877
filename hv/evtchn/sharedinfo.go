package evtchn

import (
	"fmt"

	"github.com/xenolith/xenolith/hv/mem"
)

// SetSharedInfo places the domain's shared_info page at guest-physical
// address gpa, as the monitor does when the guest maps XENMAPSPACE_shared_info
// with XENMEM_add_to_physmap.
//
// Xen's shared_info exists from domain creation, cleared; until the guest
// maps it, this table keeps the same state on the monitor side (the pending
// bitmap and the legacy vcpu_info words; masks are all clear) and raises
// behave exactly as in Xen, upcalls included. The first call therefore
// clears the page and writes that state into it. A later call with another
// address moves the page's contents there, as the same Xen page would appear
// at the new frame (the old frame is then ordinary RAM again). The monitor
// writes time and wallclock fields only after calling SetSharedInfo.
//
// gpa must be page aligned (else ErrBadPlacement) and the page inside guest
// RAM (else ErrBadAddress).
func (t *Table) SetSharedInfo(gpa mem.GPA) error {
	if gpa&pageMask != 0 {
		return fmt.Errorf("%w: shared_info at %#x", ErrBadPlacement, gpa)
	}
	if uint64(gpa) > t.mem.Size() || t.mem.Size()-uint64(gpa) < sharedInfoSize {
		return fmt.Errorf("%w: shared_info at %#x", ErrBadAddress, gpa)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.placed {
		if gpa != t.shinfo {
			for off := mem.GPA(0); off < sharedInfoSize; off += 8 {
				v, _ := t.mem.Load64(t.shinfo + off)
				_ = t.mem.Store64(gpa+off, v)
			}
			t.shinfo = gpa
		}
		return nil
	}
	for off := mem.GPA(0); off < sharedInfoSize; off += 8 {
		if err := t.mem.Store64(gpa+off, 0); err != nil {
			return fmt.Errorf("clear shared_info: %w", err)
		}
	}
	for i := range t.shadowPending {
		_ = t.mem.Store64(gpa+shinfoEvtchnPending+mem.GPA(8*i), t.shadowPending[i].Swap(0))
	}
	for v := 0; v < min(len(t.vcpus), LegacyVCPUs); v++ {
		s := &t.vcpus[v]
		if s.registered {
			continue
		}
		slot := gpa + shinfoVCPUInfo + mem.GPA(v*vcpuInfoSize)
		_ = t.mem.Store64(slot+vcpuInfoPendingSel, s.shadowSel.Swap(0))
		_ = t.mem.Store64(slot+vcpuInfoUpcallWord, s.shadowUpcall.Swap(0))
	}
	t.shinfo, t.placed = gpa, true
	return nil
}

// SharedInfo returns where shared_info is placed, and whether it is.
func (t *Table) SharedInfo() (gpa mem.GPA, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.shinfo, t.placed
}

// SetVCPUInfo moves vCPU vcpu's vcpu_info to guest-physical address gpa, for
// VCPUOP_register_vcpu_info (the caller decodes and checks the argument as
// common_vcpu_op does, then maps the error with ErrnoOf). As map_guest_area
// and vcpu_info_populate do, it refuses an area that crosses a page or is
// not 8-byte aligned (ErrBadPlacement), outside RAM (ErrBadAddress), or a
// second registration (ErrVCPUInfoRegistered); it copies the current
// vcpu_info into the new area (vCPUs >= 32 without one start cleared with
// evtchn_upcall_mask set); then it sets every evtchn_pending_sel bit and
// marks events pending, so that nothing is lost (the guest gets a spurious
// upcall).
func (t *Table) SetVCPUInfo(vcpu int, gpa mem.GPA) error {
	if vcpu < 0 || vcpu >= len(t.vcpus) {
		return fmt.Errorf("%w: vcpu %d", ErrNoSuchVCPU, vcpu)
	}
	if uint64(gpa)&pageMask+vcpuInfoSize > pageSize || gpa%vcpuInfoAlign != 0 {
		return fmt.Errorf("%w: vcpu_info at %#x", ErrBadPlacement, gpa)
	}
	if uint64(gpa) > t.mem.Size() || t.mem.Size()-uint64(gpa) < vcpuInfoSize {
		return fmt.Errorf("%w: vcpu_info at %#x", ErrBadAddress, gpa)
	}
	var fx effects
	t.mu.Lock()
	s := &t.vcpus[vcpu]
	if s.registered {
		t.mu.Unlock()
		return fmt.Errorf("%w: vcpu %d", ErrVCPUInfoRegistered, vcpu)
	}
	var img [vcpuInfoSize / 8]uint64
	if old, ok := t.vcpuInfoLocked(vcpu); ok {
		for i := range img {
			img[i], _ = t.mem.Load64(old + mem.GPA(8*i))
		}
	} else {
		img[vcpuInfoPendingSel/8] = s.shadowSel.Swap(0)
		img[vcpuInfoUpcallWord/8] = s.shadowUpcall.Swap(0)
		if vcpu >= LegacyVCPUs {
			// vcpu_info_populate from dummy_vcpu_info: cleared, mask set.
			img = [vcpuInfoSize / 8]uint64{}
			img[vcpuInfoUpcallWord/8] = upcallMaskBit
		}
	}
	for i, v := range img {
		_ = t.mem.Store64(gpa+mem.GPA(8*i), v)
	}
	s.info, s.registered = gpa, true
	t.selWord(vcpu).store(^uint64(0))
	t.markEventsPendingLocked(vcpu, &fx)
	t.mu.Unlock()
	t.deliver(&fx)
	return nil
}

// VCPUInfo returns where vCPU vcpu's vcpu_info is in guest memory (the
// registered area or the legacy slot), and whether it has one there.
func (t *Table) VCPUInfo(vcpu int) (gpa mem.GPA, ok bool) {
	if vcpu < 0 || vcpu >= len(t.vcpus) {
		return 0, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.vcpuInfoLocked(vcpu)
}

// UpcallPending reports vCPU vcpu's evtchn_upcall_pending (bit 0), for
// SCHEDOP_block and for deciding to inject the callback vector (Xen's
// local_events_need_delivery for HVM). It is false for an unknown vCPU.
func (t *Table) UpcallPending(vcpu int) bool {
	if vcpu < 0 || vcpu >= len(t.vcpus) {
		return false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.upcallWord(vcpu).test(upcallPendingBit)
}

// PortPending reports whether port is allocated and its pending bit is set
// (evtchn_port_is_pending), for SCHEDOP_poll.
func (t *Table) PortPending(port Port) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.validLocked(port) && t.ports[port].usable() && t.pendingWord(port).test(portBit(port))
}

// PortMasked reports whether port's mask bit is set in shared_info (false
// before shared_info is placed or for a port >= NrPorts).
func (t *Table) PortMasked(port Port) bool {
	if port >= NrPorts {
		return false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.maskWord(port).test(portBit(port))
}

// PollBegin starts a SCHEDOP_poll of vCPU vcpu on ports, as do_poll does
// before blocking: it records the vCPU as a poller (of the one port, or of
// any port when several or none are given) and reports ready = true when
// the vCPU must not block because an upcall is pending or one of ports is
// pending. Until PollEnd, a port of the list becoming pending (even masked)
// calls PollWaker.PollWake(vcpu) once. Ports need not be valid.
func (t *Table) PollBegin(vcpu int, ports []uint32) (ready bool) {
	if vcpu < 0 || vcpu >= len(t.vcpus) {
		return true
	}
	want := int64(pollAny)
	if len(ports) == 1 && ports[0] < NrPorts {
		want = int64(ports[0])
	}
	s := &t.vcpus[vcpu]
	if s.poll.Swap(want) == pollNone {
		t.pollers.Add(1)
	}
	if t.UpcallPending(vcpu) {
		return true
	}
	for _, p := range ports {
		if p < NrPorts && t.PortPending(Port(p)) {
			return true
		}
	}
	return false
}

// PollEnd ends vCPU vcpu's poll (after it woke or timed out).
func (t *Table) PollEnd(vcpu int) {
	if vcpu < 0 || vcpu >= len(t.vcpus) {
		return
	}
	if t.vcpus[vcpu].poll.Swap(pollNone) != pollNone {
		t.pollers.Add(-1)
	}
}
