package evtchn

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Endpoint is the monitor backend's end of an interdomain channel with a
// guest port: the backend acts as domain 0. Notify raises the guest's port;
// the guest's EVTCHNOP_send on its port signals the endpoint's eventfd,
// which the backend waits on (Wait, Drain) and which the monitor may also
// register with KVM as an ioeventfd so that guest kicks never leave the
// kernel.
//
// The binding fields (port, connected, closed, remote) are protected by the
// guest Table's mutex. The eventfd is an *os.File in non-blocking mode, so
// that waits park goroutines rather than threads and Close wakes them.
type Endpoint struct {
	t      *Table
	port   Port // the guest's port
	remote Port // the backend-side port number, as EVTCHNOP_status reports it

	connected bool   // the guest port is bound to this endpoint (t.mu)
	closed    bool   // Close was called (t.mu)
	onClose   func() // run by Close before the eventfd closes (t.mu)

	fd   int      // the eventfd (never f.Fd(), which would make it blocking)
	f    *os.File // owns fd
	rc   syscall.RawConn
	acc  atomic.Uint64 // kicks consumed by Wait and not yet returned by Drain
	wait sync.Mutex    // serialises Wait
}

// AllocPortForBackend allocates an unbound port in the guest that accepts a
// binding from domain remoteDom, as the toolstack does with
// EVTCHNOP_alloc_unbound on the guest's behalf for the xenstore and console
// rings (the monitor then publishes the port through an HVM param and binds
// it with BindBackend). remoteDom DomIDSelf means the guest itself. It
// fails with ErrNoFreePort (-ENOSPC) or ErrDying.
func (t *Table) AllocPortForBackend(remoteDom uint16) (Port, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, err := t.freePortLocked()
	if err != nil {
		return 0, fmt.Errorf("alloc backend port in domain %d: %w", t.domid, err)
	}
	c := t.takeLocked(p, stateUnbound)
	c.remote = remoteDom
	if remoteDom == DomIDSelf {
		c.remote = t.domid
	}
	return p, nil
}

// BindBackend binds the monitor's backend domain (0) to guestPort, which
// must be unbound for domain 0: allocated by AllocPortForBackend(0) or by
// the guest's alloc_unbound(remote_dom=0) (the xenbus handshake). As
// bind_interdomain always marks the new local port pending, the endpoint
// starts with one kick, so that a backend's first Wait returns and it looks
// at the ring for anything the guest sent before the bind. It fails with
// ErrInvalidPort, ErrNotUnbound, ErrDying, ErrNoFreePort (no backend-side
// port number left) or an eventfd error.
func (t *Table) BindBackend(guestPort Port) (*Endpoint, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("bind backend to port %d: eventfd: %w", guestPort, err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("evtchn-d%d-p%d", t.domid, guestPort))
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("bind backend to port %d: %w", guestPort, err)
	}
	ep := &Endpoint{t: t, port: guestPort, fd: fd, f: f, rc: rc}
	if err := t.bindBackend(ep); err != nil {
		f.Close()
		return nil, fmt.Errorf("bind backend to port %d of domain %d: %w", guestPort, t.domid, err)
	}
	ep.signal()
	return ep, nil
}

func (t *Table) bindBackend(ep *Endpoint) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := ep.port
	switch {
	case t.dying:
		return ErrDying
	case !t.validLocked(p):
		return ErrInvalidPort
	}
	c := &t.ports[p]
	if c.state != stateUnbound || c.remote != DomIDBackend {
		return fmt.Errorf("%w: port is %s", ErrNotUnbound, c.state)
	}
	remote, ok := t.allocBackendPortLocked()
	if !ok {
		return ErrNoFreePort
	}
	ep.remote, ep.connected = remote, true
	c.state, c.remote, c.peer, c.peerPort, c.ep = stateInterdomain, 0, nil, remote, ep
	return nil
}

// allocBackendPortLocked takes the lowest free backend-side port number.
// Backend port numbers are counted per guest, as if each guest had its own
// backend domain.
func (t *Table) allocBackendPortLocked() (Port, bool) {
	if t.backendUsed == nil {
		t.backendUsed = make([]uint64, pendingWords)
		t.backendUsed[0] = 1 // port 0 is reserved
	}
	for i, w := range t.backendUsed {
		if w != ^uint64(0) {
			for b := range wordBits {
				if w&(1<<b) == 0 {
					t.backendUsed[i] |= 1 << b
					return Port(i*wordBits + b), true
				}
			}
		}
	}
	return 0, false
}

// Port returns the guest's port.
func (e *Endpoint) Port() Port { return e.port }

// RemotePort returns the backend-side port number (what the guest's
// EVTCHNOP_status reports as the remote port).
func (e *Endpoint) RemotePort() Port { return e.remote }

// KickFD returns the eventfd that guest sends on the port signal, for
// registration with KVM as an ioeventfd. The Endpoint owns it: deassign the
// ioeventfd before calling Close.
func (e *Endpoint) KickFD() int { return e.fd }

// Connected reports whether the guest port is still bound to the endpoint.
// It turns false when the guest closes or resets the port or the domain is
// destroyed; the endpoint is signalled then, so a waiting backend wakes.
func (e *Endpoint) Connected() bool {
	e.t.mu.RLock()
	defer e.t.mu.RUnlock()
	return e.connected
}

// Notify raises the guest's port (backend to guest), as the backend's
// EVTCHNOP_send would: set pending with the guest port's notify vCPU. It
// does nothing once the endpoint is disconnected or closed (Xen drops a send
// on an unbound port).
func (e *Endpoint) Notify() {
	t := e.t
	t.stats.notifies.Add(1)
	var fx effects
	t.mu.RLock()
	if e.connected {
		t.setPendingLocked(e.port, int(t.ports[e.port].notify), &fx)
	}
	t.mu.RUnlock()
	t.deliver(&fx)
}

// kick is a guest's send: add 1 to the eventfd counter, as a KVM ioeventfd
// would.
func (e *Endpoint) kick() { e.signal() }

// signal adds 1 to the eventfd counter. Writing through the *os.File is
// safe against a concurrent Close (it then fails harmlessly).
func (e *Endpoint) signal() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = e.f.Write(one[:])
}

// disconnectLocked detaches the endpoint from its guest port, which the
// caller is freeing or handing back. Caller holds e.t.mu for writing.
func (e *Endpoint) disconnectLocked() { e.connected = false }

// Wait blocks until the guest has kicked the endpoint since the last Drain
// (or since the bind), the endpoint is disconnected (ErrDisconnected, after
// any kicks were drained), closed (ErrClosed) or ctx is done (ctx.Err()).
// The kicks it consumes from the eventfd are kept for Drain. Concurrent
// Waits are serialised.
func (e *Endpoint) Wait(ctx context.Context) error {
	e.wait.Lock()
	defer e.wait.Unlock()
	if e.acc.Load() > 0 || e.readOnce() {
		return nil
	}
	if err := e.linkErr(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A context that can end interrupts the read through a past deadline.
	var stop func() bool
	var fired chan struct{}
	if ctx.Done() != nil {
		fired = make(chan struct{})
		stop = context.AfterFunc(ctx, func() {
			_ = e.f.SetReadDeadline(time.Unix(1, 0))
			close(fired)
		})
	}
	err := e.rc.Read(func(fd uintptr) bool {
		var b [8]byte
		n, err := unix.Read(int(fd), b[:])
		if err == unix.EAGAIN {
			return false
		}
		if err == nil && n == 8 {
			e.acc.Add(binary.NativeEndian.Uint64(b[:]))
		}
		return true
	})
	if stop != nil && !stop() {
		<-fired
		_ = e.f.SetReadDeadline(time.Time{})
	}
	if err != nil {
		// RawConn reports a concurrent Close as internal/poll's
		// ErrFileClosing, which os does not export: ask the endpoint.
		if lerr := e.linkErr(); errors.Is(lerr, ErrClosed) || errors.Is(err, os.ErrClosed) {
			return ErrClosed
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("wait on endpoint eventfd: %w", err)
	}
	if e.acc.Load() == 0 {
		return e.linkErr()
	}
	return nil
}

// linkErr returns ErrClosed or ErrDisconnected if the endpoint is closed or
// disconnected, else nil.
func (e *Endpoint) linkErr() error {
	e.t.mu.RLock()
	defer e.t.mu.RUnlock()
	switch {
	case e.closed:
		return ErrClosed
	case !e.connected:
		return ErrDisconnected
	}
	return nil
}

// readOnce reads the eventfd without blocking and reports whether it found
// kicks. It uses RawConn.Control, not Read, so that it does not queue behind
// a Wait blocked in another goroutine (reads of an *os.File are serialised).
func (e *Endpoint) readOnce() bool {
	var b [8]byte
	var n int
	var rerr error
	if err := e.rc.Control(func(fd uintptr) { n, rerr = unix.Read(int(fd), b[:]) }); err != nil || rerr != nil || n != 8 {
		return false
	}
	got := binary.NativeEndian.Uint64(b[:])
	e.acc.Add(got)
	return got != 0
}

// Drain returns the number of kicks since the last Drain (those Wait
// consumed plus those still in the eventfd) without blocking, and resets it.
func (e *Endpoint) Drain() uint64 {
	e.readOnce()
	return e.acc.Swap(0)
}

// OnClose makes Close call fn (once, without locks held) while the eventfd
// is still open, e.g. to remove a KVM ioeventfd registered with it. It
// replaces an earlier fn and reports false, without keeping fn, if the
// endpoint is already closed.
func (e *Endpoint) OnClose(fn func()) bool {
	e.t.mu.Lock()
	defer e.t.mu.Unlock()
	if e.closed {
		return false
	}
	e.onClose = fn
	return true
}

// BackendEndpoint returns the monitor endpoint bound to guest port p, or
// nil if p is not bound to one.
func (t *Table) BackendEndpoint(p Port) *Endpoint {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.validLocked(p) || t.ports[p].state != stateInterdomain {
		return nil
	}
	return t.ports[p].ep
}

// Close unbinds the backend from the guest port, which reverts to unbound
// for domain 0 (as when dom0 closes its end), and closes the eventfd,
// waking any Wait with ErrClosed. It is idempotent.
func (e *Endpoint) Close() error {
	t := e.t
	t.mu.Lock()
	if e.closed {
		t.mu.Unlock()
		return nil
	}
	e.closed = true
	if e.connected {
		e.connected = false
		c := &t.ports[e.port]
		c.state, c.remote, c.peer, c.peerPort, c.ep = stateUnbound, DomIDBackend, nil, 0, nil
	}
	if t.backendUsed != nil {
		t.backendUsed[e.remote/wordBits] &^= 1 << (e.remote % wordBits)
	}
	fn := e.onClose
	e.onClose = nil
	t.mu.Unlock()
	if fn != nil {
		fn()
	}
	if err := e.f.Close(); err != nil {
		return fmt.Errorf("close endpoint eventfd: %w", err)
	}
	return nil
}
