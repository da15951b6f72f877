package evtchn

// RaiseVirq raises VIRQ virq for vCPU vcpu, for the monitor's timers
// (VIRQ_TIMER) and other virtual interrupts. A per-vCPU VIRQ is raised on
// the port bound on vcpu, notifying vcpu (send_guest_vcpu_virq); any other
// VIRQ on the port bound on vCPU 0, notifying that port's notify vCPU
// (send_guest_domain_virq; vcpu is ignored). Nothing happens if the VIRQ is
// not bound, or virq or vcpu is out of range.
func (t *Table) RaiseVirq(vcpu int, virq uint32) {
	if virq >= NrVIRQs || vcpu < 0 || vcpu >= len(t.vcpus) {
		return
	}
	var fx effects
	t.mu.RLock()
	if virqTypeOf(virq) == virqPerVCPU {
		if p := t.vcpus[vcpu].virq[virq]; p != 0 {
			t.setPendingLocked(p, vcpu, &fx)
		}
	} else if p := t.vcpus[0].virq[virq]; p != 0 {
		t.setPendingLocked(p, int(t.ports[p].notify), &fx)
	}
	t.mu.RUnlock()
	t.deliver(&fx)
}

// VirqPort returns the port VIRQ virq is bound to on vCPU vcpu (vCPU 0 for
// VIRQs that are not per-vCPU), and whether it is bound.
func (t *Table) VirqPort(vcpu int, virq uint32) (Port, bool) {
	if virq >= NrVIRQs || vcpu < 0 || vcpu >= len(t.vcpus) {
		return 0, false
	}
	if virqTypeOf(virq) != virqPerVCPU {
		vcpu = 0
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	p := t.vcpus[vcpu].virq[virq]
	return p, p != 0
}
