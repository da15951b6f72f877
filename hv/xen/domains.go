package xen

// Domain ids (xen/include/public/xen.h).
const (
	// DomIDSelf names the calling domain in hypercall arguments.
	DomIDSelf = 0x7ff0
	// DomIDFirstReserved is the first id that cannot name an ordinary domain.
	DomIDFirstReserved = 0x7ff0
)

// domainRef is the result of looking a domain id up as the caller sees it.
type domainRef int

const (
	domSelf    domainRef = iota // the calling domain
	domForeign                  // another domain that exists (the backend)
	domNone                     // no such domain
)

// lookupAnyID mirrors rcu_lock_domain_by_any_id: DOMID_SELF and the own id
// name the caller; the backend id names an existing foreign domain.
func (x *Dispatcher) lookupAnyID(domid uint16) domainRef {
	if domid == DomIDSelf {
		return domSelf
	}
	return x.lookupID(domid)
}

// lookupID mirrors rcu_lock_domain_by_id: like lookupAnyID but DOMID_SELF
// names no domain.
func (x *Dispatcher) lookupID(domid uint16) domainRef {
	switch domid {
	case x.dom.DomID():
		return domSelf
	case x.opts.BackendDomID:
		return domForeign
	}
	return domNone
}

// targetErrno is the result of looking up domid and then applying XSM's
// XSM_TARGET check for an unprivileged caller (xsm_default_action): 0 for
// the caller itself, -EPERM for an existing foreign domain, -ESRCH for none.
func (x *Dispatcher) targetErrno(domid uint16) Errno {
	switch x.lookupAnyID(domid) {
	case domSelf:
		return 0
	case domForeign:
		return EPERM
	}
	return ESRCH
}
