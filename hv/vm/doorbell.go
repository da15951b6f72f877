package vm

import (
	"encoding/binary"
	"sync"

	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/xen"
)

// doorbells records a VM's in-kernel doorbells: which eventfd KVM signals
// when the guest's event_channel_op stub writes a port number to
// DoorbellPort. A registration must go when the port stops meaning that
// channel: when the backend's endpoint closes (a frontend that reconnects
// gets the same port number again, and KVM refuses a second ioeventfd with
// the same match) and when the guest closes or resets its port (the number
// may then name a new channel, whose sends must not go to the old eventfd).
// Without a doorbell a send exits and the monitor performs it, so removing
// one is always safe.
type doorbells struct {
	mu     sync.Mutex
	fds    map[evtchn.Port]int // guest port -> registered eventfd; protected by mu
	closed bool                // the VM is closing: no more ioctls; protected by mu
}

// doorbell makes the guest's EVTCHNOP_send on port signal fd inside KVM
// (no exit to user space): an ioeventfd on DoorbellPort matching the port.
// A doorbell already on port is replaced. If fd is the eventfd of the
// monitor endpoint bound to port, the doorbell goes when the endpoint closes.
func (p *pv) doorbell(port evtchn.Port, fd int) error {
	b := &p.bells
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if old, ok := b.fds[port]; ok {
		p.ioeventfd(port, old, true)
		delete(b.fds, port)
	}
	if err := p.ioeventfd(port, fd, false); err != nil {
		return err
	}
	if b.fds == nil {
		b.fds = make(map[evtchn.Port]int)
	}
	b.fds[port] = fd
	if ep := p.evt.BackendEndpoint(port); ep != nil && ep.KickFD() == fd {
		if !ep.OnClose(func() { p.dropDoorbell(port, fd) }) {
			// Closed meanwhile: its eventfd is still open until we return.
			p.ioeventfd(port, fd, true)
			delete(b.fds, port)
		}
	}
	return nil
}

// dropDoorbell removes the doorbell of port if it still signals fd (any fd
// if fd < 0).
func (p *pv) dropDoorbell(port evtchn.Port, fd int) {
	b := &p.bells
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur, ok := b.fds[port]; ok && !b.closed && (fd < 0 || cur == fd) {
		p.ioeventfd(port, cur, true)
		delete(b.fds, port)
	}
}

// dropAllDoorbells removes every doorbell (EVTCHNOP_reset).
func (p *pv) dropAllDoorbells() {
	b := &p.bells
	b.mu.Lock()
	defer b.mu.Unlock()
	for port, fd := range b.fds {
		if !b.closed {
			p.ioeventfd(port, fd, true)
		}
		delete(b.fds, port)
	}
}

// closeDoorbells stops all doorbell ioctls; the VM's KVM fd is about to
// close (which drops every ioeventfd). Endpoints closing later find nothing
// to do.
func (p *pv) closeDoorbells() {
	b := &p.bells
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.fds = nil
}

// ioeventfd assigns or deassigns the doorbell ioeventfd of port. A failed
// deassignment (the eventfd was closed by its owner first) leaves the
// registration to the VM's end.
func (p *pv) ioeventfd(port evtchn.Port, fd int, deassign bool) error {
	flags := uint32(kvm.IOEventFDPIO | kvm.IOEventFDDatamatch)
	if deassign {
		flags |= kvm.IOEventFDDeassign
	}
	return p.v.kvm.IOEventFD(kvm.IOEventFD{
		Addr: xen.DoorbellPort, Len: 4, Datamatch: uint64(port), FD: fd, Flags: flags,
	})
}

// eventChannelOp runs event_channel_op and drops the doorbells of ports the
// guest closed (EVTCHNOP_close) or reset (EVTCHNOP_reset of itself).
func (p *pv) eventChannelOp(v xen.VCPU, c xen.Call) int64 {
	var arg [4]byte
	closing := c.Args[0] == evtchn.OpClose && v.CopyIn(c.Args[1], arg[:]) == nil
	ret := p.evt.Hypercall(v, c.Args[0], c.Args[1])
	switch {
	case ret != 0:
	case closing:
		p.dropDoorbell(evtchn.Port(binary.LittleEndian.Uint32(arg[:])), -1)
	case c.Args[0] == evtchn.OpReset:
		p.dropAllDoorbells()
	}
	return ret
}
