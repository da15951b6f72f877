package evtchn

// Port is an event channel port number of one domain. Port 0 is reserved
// and never allocated; valid ports are below NrPorts.
type Port uint32

// chanState is a port's state, Xen's ECS_* (xen/include/xen/sched.h). PIRQ
// ports do not exist here: the domain has no PIRQs.
type chanState uint8

const (
	stateFree        chanState = iota // ECS_FREE: available
	stateReserved                     // ECS_RESERVED: port 0
	stateUnbound                      // ECS_UNBOUND: waiting for remote to bind
	stateInterdomain                  // ECS_INTERDOMAIN: bound to another domain or a backend
	stateVIRQ                         // ECS_VIRQ: bound to a virtual IRQ
	stateIPI                          // ECS_IPI: bound to a vCPU of this domain
)

// String returns the state's name, for test failures and logs.
func (s chanState) String() string {
	switch s {
	case stateFree:
		return "free"
	case stateReserved:
		return "reserved"
	case stateUnbound:
		return "unbound"
	case stateInterdomain:
		return "interdomain"
	case stateVIRQ:
		return "virq"
	case stateIPI:
		return "ipi"
	}
	return "invalid"
}

// channel is one port (Xen's struct evtchn). It is protected by the mutex
// of the Table that holds it.
type channel struct {
	state  chanState
	notify uint16 // notify_vcpu_id: the vCPU whose vcpu_info gets the upcall
	virq   uint8  // stateVIRQ: the VIRQ
	// remote is, for stateUnbound, the domain allowed to bind
	// (u.unbound.remote_domid).
	remote uint16
	// peer and peerPort are, for stateInterdomain with another domain of the
	// hub (or this one, for a loopback channel), the other end
	// (u.interdomain). peer is nil when ep is set.
	peer     *Table
	peerPort Port
	// ep is, for stateInterdomain with a monitor backend, the backend's end.
	ep *Endpoint
}

// usable mirrors evtchn_usable: a port that is allocated (neither free nor
// reserved). Only usable ports are set pending, cleared or unmasked.
func (c *channel) usable() bool { return c.state > stateReserved }

// virqType classifies a VIRQ as get_virq_type does on x86.
type virqKind uint8

const (
	virqGlobal  virqKind = iota // VIRQ_GLOBAL: bound only by the handler domain (dom0)
	virqPerVCPU                 // VIRQ_VCPU: one binding per vCPU
	virqDomain                  // VIRQ_DOMAIN: one binding per domain, on vCPU 0
)

// virqTypeOf mirrors get_virq_type (xen/common/event_channel.c) with x86's
// arch_get_virq_type (every architecture VIRQ is global). virq < NrVIRQs.
func virqTypeOf(virq uint32) virqKind {
	switch virq {
	case VIRQTimer, VIRQDebug, VIRQXenoprof, VIRQXenPMU:
		return virqPerVCPU
	case VIRQArgo:
		return virqDomain
	}
	return virqGlobal
}
