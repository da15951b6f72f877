package evtchn

import (
	"github.com/xenolith/xenolith/hv/xen"
)

// closePort mirrors evtchn_close(d, port, guest): -EINVAL for an invalid,
// free or reserved port. An interdomain port frees both ends' binding: the
// other end reverts to unbound, accepting this domain again (a backend
// Endpoint is disconnected and signalled). A VIRQ port is unbound from its
// VIRQ. The port's pending bit is cleared (evtchn_free) and it notifies
// vCPU 0 when reused.
//
// Closing an interdomain port of another table needs both locks, taken in
// order; as in Xen, the local lock is dropped to take them and the state
// is checked again (a port re-bound to another domain meanwhile is
// -EINVAL).
func (t *Table) closePort(p Port) xen.Errno {
	var fx effects
	t.mu.Lock()
	if !t.validLocked(p) {
		t.mu.Unlock()
		return xen.EINVAL
	}
	c := &t.ports[p]
	if c.state != stateInterdomain || c.ep != nil || c.peer == t {
		err := t.closeLocked(p, &fx)
		t.mu.Unlock()
		t.deliver(&fx)
		return err
	}
	peer := c.peer
	t.mu.Unlock()
	lockPair(t, peer)
	c = &t.ports[p]
	var err xen.Errno
	if c.state == stateInterdomain && c.ep == nil && c.peer != peer {
		err = xen.EINVAL
	} else {
		err = t.closeLocked(p, &fx)
	}
	unlockPair(t, peer)
	t.deliver(&fx)
	return err
}

// closeLocked closes valid port p. Caller holds t.mu for writing and, for an
// interdomain port with another table, the peer's mutex too.
func (t *Table) closeLocked(p Port, fx *effects) xen.Errno {
	c := &t.ports[p]
	switch c.state {
	case stateFree, stateReserved:
		return xen.EINVAL
	case stateVIRQ:
		v := 0
		if virqTypeOf(uint32(c.virq)) == virqPerVCPU {
			v = int(c.notify)
		}
		t.vcpus[v].virq[c.virq] = 0
	case stateInterdomain:
		switch {
		case c.ep != nil:
			c.ep.disconnectLocked()
			fx.eps = append(fx.eps, c.ep)
		default:
			rc := &c.peer.ports[c.peerPort]
			rc.state, rc.remote, rc.peer, rc.peerPort = stateUnbound, t.domid, nil, 0
		}
	}
	t.freeLocked(p)
	return 0
}

// freeLocked mirrors evtchn_free: clear the pending bit and reset the port.
func (t *Table) freeLocked(p Port) {
	t.clearPendingLocked(p)
	t.ports[p] = channel{}
	t.active--
}

// resetOp mirrors the EVTCHNOP_reset case of do_event_channel_op and
// evtchn_reset: look the domain up (-ESRCH), XSM_TARGET (-EPERM unless it
// is the caller), -EBUSY if a reset is already running (or for
// EVTCHNOP_reset_cont, since this table never leaves one half done), then
// close every port. Ports bound concurrently by other vCPUs make it
// -EAGAIN, as in Xen.
func (t *Table) resetOp(dom uint16, cont bool) xen.Errno {
	d, kind := t.lookupAnyID(dom)
	switch {
	case kind == domNone:
		return xen.ESRCH
	case kind == domBackend || d != t:
		return xen.EPERM
	}
	t.mu.Lock()
	if cont || t.resetting {
		t.mu.Unlock()
		return xen.EBUSY
	}
	t.resetting = true
	t.mu.Unlock()

	t.closeAll()

	t.mu.Lock()
	defer t.mu.Unlock()
	t.resetting = false
	if t.active > 0 {
		return xen.EAGAIN
	}
	return 0
}

// closeAll closes every allocated port, as evtchn_reset and evtchn_destroy
// do, one port at a time.
func (t *Table) closeAll() {
	for p := Port(1); ; p++ {
		t.mu.RLock()
		more := t.validLocked(p) && t.active > 0
		busy := more && t.ports[p].usable()
		t.mu.RUnlock()
		if !more {
			return
		}
		if busy {
			t.closePort(p)
		}
	}
}

// Destroy closes every port and refuses new ones, as evtchn_destroy does
// when a domain dies: the other ends of its interdomain channels revert to
// unbound, its backend Endpoints are disconnected and signalled (their
// owners still Close them). Hub.Unregister calls it; a table that was never
// registered is destroyed with it directly. Destroy is idempotent.
func (t *Table) Destroy() {
	t.mu.Lock()
	t.dying = true
	t.mu.Unlock()
	t.closeAll()
	for v := range t.vcpus {
		t.PollEnd(v)
	}
}
