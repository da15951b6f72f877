package xen

import "encoding/binary"

// sched_op sub-commands (xen/include/public/sched.h).
const (
	SchedopYield          = 0
	SchedopBlock          = 1
	SchedopShutdown       = 2
	SchedopPoll           = 3
	SchedopRemoteShutdown = 4
	SchedopShutdownCode   = 5
	SchedopWatchdog       = 6
	SchedopPinOverride    = 7
)

// Shutdown reasons (xen/include/public/sched.h).
const (
	ShutdownPoweroff  = 0
	ShutdownReboot    = 1
	ShutdownSuspend   = 2
	ShutdownCrash     = 3
	ShutdownWatchdog  = 4
	ShutdownSoftReset = 5
	ShutdownMax       = 5 // highest defined reason
)

// NrEventChannels is the number of ports of the 2-level event channel ABI
// (64 words of 64 bits in shared_info): valid ports are below it.
const NrEventChannels = 4096

// schedOp mirrors do_sched_op (xen/common/sched/core.c).
func (x *Dispatcher) schedOp(v VCPU, cmd int32, arg uint64) int64 {
	switch cmd {
	case SchedopYield:
		x.dom.Yield(v)
		return 0

	case SchedopBlock:
		x.dom.Block(v)
		return 0

	case SchedopShutdown:
		var b [schedShutdownSize]byte
		if !copyIn(v, arg, b[:]) {
			return EFAULT.Ret()
		}
		// domain_shutdown takes the reason as a u8: any value is accepted.
		x.shutdown(uint8(binary.LittleEndian.Uint32(b[:])))
		return 0

	case SchedopShutdownCode:
		var b [schedShutdownSize]byte
		if !copyIn(v, arg, b[:]) {
			return EFAULT.Ret()
		}
		x.latchShutdownCode(uint8(binary.LittleEndian.Uint32(b[:])))
		return 0

	case SchedopPoll:
		return x.poll(v, arg)

	case SchedopRemoteShutdown:
		var b [schedRemoteShutdownSize]byte
		if !copyIn(v, arg, b[:]) {
			return EFAULT.Ret()
		}
		// rcu_lock_domain_by_id (DOMID_SELF is not resolved), then
		// xsm_schedop_shutdown (XSM_DM_PRIV), which an unprivileged domain
		// fails for any domain, itself included.
		if x.lookupID(binary.LittleEndian.Uint16(b[schedRemoteShutdownDom:])) == domNone {
			return ESRCH.Ret()
		}
		return EPERM.Ret()

	case SchedopWatchdog:
		// Not implemented yet (Xen's domain_watchdog).
		return ENOSYS.Ret()

	case SchedopPinOverride:
		// Hardware domain only; checked before the argument is read.
		return EPERM.Ret()
	}
	return ENOSYS.Ret()
}

// poll mirrors do_poll: at most 128 ports, each read from the guest and
// checked in order (a fault gives -EFAULT, a port outside the 2-level ABI
// -EINVAL), then the vCPU blocks in Domain.Poll. The pending-port check Xen
// makes while scanning (returning 0 at the first pending port) is left to
// Domain.Poll, which returns at once in that case.
func (x *Dispatcher) poll(v VCPU, arg uint64) int64 {
	var b [schedPollSize]byte
	if !copyIn(v, arg, b[:]) {
		return EFAULT.Ret()
	}
	portsGVA := binary.LittleEndian.Uint64(b[schedPollPorts:])
	nr := binary.LittleEndian.Uint32(b[schedPollNrPorts:])
	timeout := binary.LittleEndian.Uint64(b[schedPollTimeout:])
	if nr > maxPollPorts {
		return EINVAL.Ret()
	}
	raw := make([]byte, nr*evtchnPortSize)
	if !copyIn(v, portsGVA, raw) {
		// Copy port by port, checking each before reading the next, so that
		// errors come in Xen's order (an invalid port before a faulting one
		// gives -EINVAL).
		for i := range nr {
			off := i * evtchnPortSize
			if !copyIn(v, portsGVA+uint64(off), raw[off:off+evtchnPortSize]) {
				return EFAULT.Ret()
			}
			if binary.LittleEndian.Uint32(raw[off:]) >= NrEventChannels {
				return EINVAL.Ret()
			}
		}
	}
	ports := make([]uint32, nr)
	for i := range ports {
		ports[i] = binary.LittleEndian.Uint32(raw[i*evtchnPortSize:])
		if ports[i] >= NrEventChannels {
			return EINVAL.Ret()
		}
	}
	x.dom.Poll(v, ports, timeout)
	return 0
}

// shutdown mirrors domain_shutdown: a latched shutdown code overrides the
// reason; a domain already shutting down is left alone. Domain.Shutdown is
// called outside the lock.
func (x *Dispatcher) shutdown(reason uint8) {
	x.shutMu.Lock()
	if x.shutdownCode == shutdownCodeInvalid {
		x.shutdownCode = uint32(reason)
	}
	code := x.shutdownCode
	already := x.shuttingDown
	x.shuttingDown = true
	x.shutMu.Unlock()
	if !already {
		x.dom.Shutdown(code)
	}
}

// latchShutdownCode mirrors SCHEDOP_shutdown_code: the first code sticks.
func (x *Dispatcher) latchShutdownCode(code uint8) {
	x.shutMu.Lock()
	latched := x.shutdownCode == shutdownCodeInvalid
	if latched {
		x.shutdownCode = uint32(code)
	}
	x.shutMu.Unlock()
	if latched {
		x.dom.SetShutdownCode(uint32(code))
	}
}

// ResetShutdown clears the shutdown state and latched code, as Xen's
// domain_resume does, for a monitor that resumes the domain (for example
// after a cancelled suspend).
func (x *Dispatcher) ResetShutdown() {
	x.shutMu.Lock()
	x.shutdownCode = shutdownCodeInvalid
	x.shuttingDown = false
	x.shutMu.Unlock()
}

// ShutdownCode returns the latched shutdown code and whether one is latched.
func (x *Dispatcher) ShutdownCode() (code uint32, ok bool) {
	x.shutMu.Lock()
	defer x.shutMu.Unlock()
	return x.shutdownCode, x.shutdownCode != shutdownCodeInvalid
}
