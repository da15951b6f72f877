package evtchn

import (
	"github.com/xenolith/xenolith/hv/xen"
)

// domKind says what a domain id names, as the caller sees it.
type domKind uint8

const (
	domNone    domKind = iota // no such domain
	domTable                  // a domain with a Table (the caller or another of its hub)
	domBackend                // the monitor's backend domain (dom0)
)

// lookupAnyID mirrors rcu_lock_domain_by_any_id: DOMID_SELF and the own id
// name the caller, DomIDBackend the monitor's backends, other ids a table of
// the caller's hub. Caller holds no Table lock (the hub's lock is taken).
func (t *Table) lookupAnyID(dom uint16) (*Table, domKind) {
	switch {
	case dom == DomIDSelf || dom == t.domid:
		return t, domTable
	case dom == DomIDBackend:
		return nil, domBackend
	}
	if h := t.hub.Load(); h != nil {
		if o := h.Lookup(dom); o != nil {
			return o, domTable
		}
	}
	return nil, domNone
}

// allocUnbound mirrors evtchn_alloc_unbound: look the domain up (-ESRCH),
// take a free port in it (-ENOSPC, or -EINVAL if dying), then the XSM_TARGET
// check (-EPERM for any domain but the caller; the port stays free, but the
// target's valid range may have grown, as in Xen).
func (t *Table) allocUnbound(b []byte) xen.Errno {
	dom := le.Uint16(b[allocUnboundDom:])
	remote := le.Uint16(b[allocUnboundRemoteDom:])
	d, kind := t.lookupAnyID(dom)
	switch {
	case kind == domNone:
		return xen.ESRCH
	case kind == domBackend:
		return xen.EPERM
	case d != t:
		d.mu.Lock()
		_, err := d.freePortLocked()
		d.mu.Unlock()
		if err != nil {
			return ErrnoOf(err)
		}
		return xen.EPERM
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p, err := t.freePortLocked()
	if err != nil {
		return ErrnoOf(err)
	}
	c := t.takeLocked(p, stateUnbound)
	c.remote = remote
	if remote == DomIDSelf {
		c.remote = t.domid
	}
	le.PutUint32(b[allocUnboundPort:], uint32(p))
	return 0
}

// bindInterdomain mirrors evtchn_bind_interdomain: look the remote domain up
// (-ESRCH), lock both domains in order, take a local port (-ENOSPC/-EINVAL),
// then the remote port must be valid (-EINVAL) and unbound for the caller
// (-EINVAL). Both ends become interdomain and the local port is always set
// pending, since notifications sent to the unbound remote end were dropped.
// The backend domain offers no unbound ports to guests (-EINVAL), and a
// domain being destroyed counts as having none.
func (t *Table) bindInterdomain(b []byte) xen.Errno {
	rdom := le.Uint16(b[bindInterdomainDom:])
	rport := Port(le.Uint32(b[bindInterdomainRPort:]))
	rd, kind := t.lookupAnyID(rdom)
	switch kind {
	case domNone:
		return xen.ESRCH
	case domBackend:
		t.mu.Lock()
		_, err := t.freePortLocked()
		t.mu.Unlock()
		if err != nil {
			return ErrnoOf(err)
		}
		return xen.EINVAL
	}
	var fx effects
	lockPair(t, rd)
	lport, err := t.freePortLocked()
	if err != nil {
		unlockPair(t, rd)
		return ErrnoOf(err)
	}
	if rd.dying || !rd.validLocked(rport) {
		unlockPair(t, rd)
		return xen.EINVAL
	}
	if rc := &rd.ports[rport]; rc.state != stateUnbound || rc.remote != t.domid {
		unlockPair(t, rd)
		return xen.EINVAL
	}
	lc := t.takeLocked(lport, stateInterdomain)
	lc.peer, lc.peerPort = rd, rport
	rc := &rd.ports[rport] // re-taken: takeLocked may not grow, but rd may be t
	rc.state, rc.remote, rc.peer, rc.peerPort = stateInterdomain, 0, t, lport
	t.setPendingLocked(lport, int(lc.notify), &fx)
	unlockPair(t, rd)
	t.deliver(&fx)
	le.PutUint32(b[bindInterdomainLPort:], uint32(lport))
	return 0
}

// bindVIRQ mirrors evtchn_bind_virq: a VIRQ >= NR_VIRQS is -EINVAL, a vCPU
// other than 0 for a VIRQ that is not per-vCPU -EINVAL, a vCPU outside the
// domain -ENOENT; a global VIRQ belongs to its handler domain, never a domU
// (-EBUSY); a VIRQ already bound on the vCPU is -EEXIST; then a port is
// taken (-ENOSPC).
func (t *Table) bindVIRQ(b []byte) xen.Errno {
	virq := le.Uint32(b[bindVIRQVIRQ:])
	vcpu := le.Uint32(b[bindVIRQVCPU:])
	if virq >= NrVIRQs {
		return xen.EINVAL
	}
	kind := virqTypeOf(virq)
	if kind != virqPerVCPU && vcpu != 0 {
		return xen.EINVAL
	}
	if uint64(vcpu) >= uint64(len(t.vcpus)) {
		return xen.ENOENT
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if kind == virqGlobal {
		return xen.EBUSY
	}
	s := &t.vcpus[vcpu]
	if s.virq[virq] != 0 {
		return xen.EEXIST
	}
	p, err := t.freePortLocked()
	if err != nil {
		return ErrnoOf(err)
	}
	c := t.takeLocked(p, stateVIRQ)
	c.notify, c.virq = uint16(vcpu), uint8(virq)
	s.virq[virq] = p
	le.PutUint32(b[bindVIRQPort:], uint32(p))
	return 0
}

// bindIPI mirrors evtchn_bind_ipi: a vCPU outside the domain is -ENOENT,
// then a port is taken (-ENOSPC) and bound to the vCPU for good.
func (t *Table) bindIPI(b []byte) xen.Errno {
	vcpu := le.Uint32(b[bindIPIVCPU:])
	if uint64(vcpu) >= uint64(len(t.vcpus)) {
		return xen.ENOENT
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p, err := t.freePortLocked()
	if err != nil {
		return ErrnoOf(err)
	}
	c := t.takeLocked(p, stateIPI)
	c.notify = uint16(vcpu)
	le.PutUint32(b[bindIPIPort:], uint32(p))
	return 0
}

// bindVCPU mirrors evtchn_bind_vcpu: the vCPU is checked first (-ENOENT),
// then the port (-EINVAL); unbound, interdomain and non-per-vCPU VIRQ ports
// change their notify vCPU; per-vCPU VIRQ, IPI, free and reserved ports are
// -EINVAL.
func (t *Table) bindVCPU(p Port, vcpu uint32) xen.Errno {
	if uint64(vcpu) >= uint64(len(t.vcpus)) {
		return xen.ENOENT
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.validLocked(p) {
		return xen.EINVAL
	}
	c := &t.ports[p]
	switch c.state {
	case stateVIRQ:
		if virqTypeOf(uint32(c.virq)) == virqPerVCPU {
			return xen.EINVAL
		}
	case stateUnbound, stateInterdomain:
	default:
		return xen.EINVAL
	}
	c.notify = uint16(vcpu)
	return 0
}

// unmask mirrors evtchn_unmask: -EINVAL for an invalid port; a valid port
// that is not allocated is left alone (evtchn_port_unmask); otherwise
// evtchn_2l_unmask re-delivers a pending event.
func (t *Table) unmask(p Port) xen.Errno {
	var fx effects
	t.mu.RLock()
	if !t.validLocked(p) {
		t.mu.RUnlock()
		return xen.EINVAL
	}
	if c := &t.ports[p]; c.usable() {
		t.unmaskLocked(p, int(c.notify), &fx)
	}
	t.mu.RUnlock()
	t.stats.unmasks.Add(1)
	t.deliver(&fx)
	return 0
}

// send mirrors evtchn_send: -EINVAL for an invalid port; an interdomain port
// raises the remote end (with the remote port's notify vCPU) or kicks the
// backend's eventfd; an IPI port raises itself; an unbound port drops the
// event silently; any other state is -EINVAL.
func (t *Table) send(p Port) xen.Errno {
	var fx effects
	t.mu.RLock()
	if !t.validLocked(p) {
		t.mu.RUnlock()
		return xen.EINVAL
	}
	c := t.ports[p]
	switch c.state {
	case stateInterdomain:
		switch {
		case c.ep != nil:
			t.mu.RUnlock()
			t.stats.sends.Add(1)
			t.stats.kicks.Add(1)
			c.ep.kick()
			return 0
		case c.peer == t:
			t.setPendingLocked(c.peerPort, int(t.ports[c.peerPort].notify), &fx)
			t.mu.RUnlock()
			t.deliver(&fx)
		default:
			t.mu.RUnlock()
			c.peer.raisePeer(c.peerPort, t, p)
		}
	case stateIPI:
		t.setPendingLocked(p, int(c.notify), &fx)
		t.mu.RUnlock()
		t.deliver(&fx)
	case stateUnbound:
		t.mu.RUnlock()
	default:
		t.mu.RUnlock()
		return xen.EINVAL
	}
	t.stats.sends.Add(1)
	return 0
}

// raisePeer raises port p of t on behalf of port from of domain src, if p is
// still the other end of that channel (the sender's lock is not held across
// the call, so the channel may have been closed meanwhile).
func (t *Table) raisePeer(p Port, src *Table, from Port) {
	var fx effects
	t.mu.RLock()
	if t.validLocked(p) {
		if c := &t.ports[p]; c.state == stateInterdomain && c.peer == src && c.peerPort == from {
			t.setPendingLocked(p, int(c.notify), &fx)
		}
	}
	t.mu.RUnlock()
	t.deliver(&fx)
}

// status mirrors evtchn_status: look the domain up (-ESRCH), check the port
// in it (-EINVAL), then XSM_TARGET (-EPERM unless it is the caller). The
// backend domain exists but its ports are not the guest's to see (-EPERM).
// Only the fields the state defines are written; the rest of the union
// goes back as the guest sent it.
func (t *Table) status(b []byte) xen.Errno {
	dom := le.Uint16(b[statusDom:])
	p := Port(le.Uint32(b[statusPort:]))
	d, kind := t.lookupAnyID(dom)
	switch kind {
	case domNone:
		return xen.ESRCH
	case domBackend:
		return xen.EPERM
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if !d.validLocked(p) {
		return xen.EINVAL
	}
	if d != t {
		return xen.EPERM
	}
	c := &d.ports[p]
	var st uint32
	switch c.state {
	case stateFree, stateReserved:
		st = StatusClosed
	case stateUnbound:
		st = StatusUnbound
		le.PutUint16(b[statusUnion:], c.remote)
	case stateInterdomain:
		st = StatusInterdomain
		if c.ep != nil {
			le.PutUint16(b[statusUnion:], DomIDBackend)
		} else {
			le.PutUint16(b[statusUnion:], c.peer.domid)
		}
		le.PutUint32(b[statusInterPort:], uint32(c.peerPort))
	case stateVIRQ:
		st = StatusVIRQ
		le.PutUint32(b[statusUnion:], uint32(c.virq))
	case stateIPI:
		st = StatusIPI
	}
	le.PutUint32(b[statusStatus:], st)
	le.PutUint32(b[statusVCPU:], uint32(c.notify))
	return 0
}
