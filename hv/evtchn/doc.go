// Package evtchn implements Xen's 2-level event channels for the monitor:
// the per-domain port table, EVTCHNOP_* (event_channel_op, hypercall 32)
// with Xen's checks and errno values, the pending/mask bitmaps of
// shared_info and the vcpu_info words that drive upcalls, and the monitor's
// end of channels (backend Endpoints with eventfds, VIRQs).
//
// # Model
//
// Each guest has a Table. Tables of one process live in a Hub (domain id to
// Table), so that guests can bind interdomain channels to each other. The
// monitor's in-process backends act as domain 0 (DomIDBackend): they bind to
// a guest port that is unbound for domain 0 and get an Endpoint. Guests can
// allocate ports for domain 0 and the toolstack side (AllocPortForBackend)
// can pre-create them, but domain 0 offers no unbound port of its own for a
// guest to bind (bind_interdomain to it is -EINVAL), and backend-side port
// numbers are counted per guest.
//
// Raising a port follows event_2l.c exactly: test-and-set the pending bit
// (stop if set), stop if masked, test-and-set the selector bit in the notify
// vCPU's evtchn_pending_sel (stop if set), test-and-set upcall_pending, and
// only on its 0 to 1 edge call Upcaller.Upcall. Every access to guest memory
// is an hv/mem atomic on an aligned 64-bit word (upcall_pending is bit 0 of
// the word at vcpu_info offset 0). Pollers (SCHEDOP_poll, see PollBegin)
// are woken when a polled port becomes pending, masked or not.
//
// # Before shared_info is placed
//
// In Xen the shared_info page exists, cleared, from domain creation; the
// guest only chooses where it appears. Until the monitor calls
// SetSharedInfo, a Table keeps that page's event state itself (the pending
// bitmap and the legacy vcpu_info selector and upcall words; every mask is
// clear) and runs the same sequence on it, upcalls included, so
// UpcallPending and PortPending answer as Xen would. SetSharedInfo clears the
// page and copies the state in. vCPUs >= 32 without a registered vcpu_info
// use a per-vCPU stand-in for Xen's dummy_vcpu_info.
//
// # Limits
//
// Ports are below Config.MaxPorts (default 1024, at most NrPorts = 4096):
// that is Xen's max_evtchn_port + 1, so a full table answers -ENOSPC as
// get_free_port does. Ports become valid 64 at a time as Xen's buckets do,
// which decides whether an unallocated port is "closed" or -EINVAL.
//
// # Differences from Xen
//
//   - EVTCHNOP_init_control and expand_array answer -ENOSYS after copying
//     their argument (no FIFO ABI; guests fall back to 2-level), and
//     set_priority -ENOSYS for a valid port (2-level has no priorities).
//   - The domain has no PIRQs: bind_pirq is -EINVAL (pirq >= nr_pirqs).
//   - Global VIRQs belong to the hardware domain: binding one is -EBUSY.
//   - EVTCHNOP_reset runs to completion (no continuation); reset_cont is
//     therefore -EBUSY.
//   - The backend domain exists for lookups: alloc_unbound, status and
//     reset naming it are -EPERM (the XSM check), bind_interdomain -EINVAL.
//
// # Locking
//
// See Hub for the lock order. Counters (Stats) are atomic.
package evtchn
