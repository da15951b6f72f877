package evtchn

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/xenolith/xenolith/hv/mem"
)

// Upcaller is told that a vCPU's evtchn_upcall_pending went from 0 to 1
// (vcpu_mark_events_pending): hv/vm injects the callback vector and wakes
// the vCPU if it is blocked in SCHEDOP_block or SCHEDOP_poll. It is called
// with no Table lock held, possibly from several goroutines at once, and may
// call back into the Table.
type Upcaller interface {
	Upcall(vcpu int)
}

// PollWaker may be implemented by an Upcaller to hear that a vCPU polling
// with SCHEDOP_poll (between PollBegin and PollEnd) must wake because a port
// it polls became pending, masked or not (evtchn_check_pollers). Without
// it, a poll on a masked port ends only by its timeout or a kick.
type PollWaker interface {
	PollWake(vcpu int)
}

// Config describes a domain's event channel table.
type Config struct {
	// DomID is the domain's id: 1..DomIDFirstReserved-1 (0 is the
	// monitor's backend domain).
	DomID uint16
	// VCPUs is the number of vCPUs (Xen's max_vcpus), 1..MaxVCPUs.
	VCPUs int
	// Memory is the guest RAM that holds shared_info and vcpu_info.
	Memory *mem.Memory
	// Upcaller is told about upcalls; nil means nobody is told.
	Upcaller Upcaller
	// MaxPorts bounds the ports: 0..MaxPorts-1 exist, so MaxPorts-1 is
	// Xen's max_evtchn_port and at most MaxPorts-1 ports can be open at
	// once (port 0 is reserved). Allocation beyond it fails with -ENOSPC,
	// as get_free_port. 0 means DefaultMaxPorts (1024, libxl's default
	// max_event_channels of 1023); at most NrPorts.
	MaxPorts int
}

// vcpuState is the per-vCPU state of a Table.
type vcpuState struct {
	virq [NrVIRQs]Port // virq_to_evtchn; protected by Table.mu
	// info is the vcpu_info registered with VCPUOP_register_vcpu_info
	// (valid when registered); protected by Table.mu.
	info       mem.GPA
	registered bool
	// shadowSel and shadowUpcall stand in for the vcpu_info words
	// evtchn_pending_sel and the upcall word while the vCPU has no vcpu_info
	// in guest memory: a legacy vCPU before shared_info is placed, or a vCPU
	// >= 32 that has not registered one (Xen's dummy_vcpu_info, here one
	// per vCPU). Atomic; replaced wholesale only under Table.mu held for
	// writing.
	shadowSel    atomic.Uint64
	shadowUpcall atomic.Uint64
	// poll is pollNone, pollAny or the port polled (Xen's poll_mask bit and
	// poll_evtchn).
	poll atomic.Int64
}

const (
	pollNone = -1 // not polling
	pollAny  = 0  // polling several ports: any pending port wakes
)

// counters are a Table's statistics, updated atomically; each is the
// field of Stats with the same name.
type counters struct {
	hypercalls atomic.Uint64
	sends      atomic.Uint64
	raises     atomic.Uint64
	upcalls    atomic.Uint64
	kicks      atomic.Uint64
	notifies   atomic.Uint64
	unmasks    atomic.Uint64
	pollWakes  atomic.Uint64
}

// Stats is a snapshot of a Table's counters, for benchmarks.
type Stats struct {
	Hypercalls uint64 // event_channel_op calls
	Sends      uint64 // EVTCHNOP_send calls that succeeded
	Raises     uint64 // ports raised (set_pending attempts, pending or not before)
	Upcalls    uint64 // Upcaller.Upcall calls
	Kicks      uint64 // guest sends signalled to a backend Endpoint's eventfd
	Notifies   uint64 // Endpoint.Notify calls
	Unmasks    uint64 // EVTCHNOP_unmask calls that succeeded
	PollWakes  uint64 // PollWaker.PollWake calls
}

// tableSeq numbers tables in creation order, to order the locks of two
// tables with the same domain id (possible only across hubs).
var tableSeq atomic.Uint64

// Table is one domain's event channels: the port table, the 2-level
// pending and mask bitmaps in shared_info, and the vcpu_info words that
// drive upcalls. All methods are safe for concurrent use.
type Table struct {
	domid    uint16
	seq      uint64
	mem      *mem.Memory
	up       Upcaller
	waker    PollWaker
	maxPorts int
	hub      atomic.Pointer[Hub] // the hub the table is registered in

	// mu protects ports, active, dying, resetting, placed, shinfo,
	// backendUsed, the bindings of Endpoints of this table, and the
	// non-atomic fields of vcpus. Raising a port, which only does atomic
	// updates of guest memory, needs it for reading.
	mu        sync.RWMutex
	ports     []channel // Xen's valid_evtchns ports: grows by bucketPorts
	active    int       // allocated ports (active_evtchns)
	dying     bool      // destroyed: no new ports (d->is_dying)
	resetting bool      // EVTCHNOP_reset in progress (next_evtchn != 0)
	placed    bool      // shared_info is in guest memory at shinfo
	shinfo    mem.GPA
	// shadowPending holds evtchn_pending until shared_info is placed
	// (masks are all clear until then: the guest cannot write them).
	shadowPending [pendingWords]atomic.Uint64
	backendUsed   []uint64 // bitmap of backend-side port numbers in use (lazy)
	vcpus         []vcpuState
	pollers       atomic.Int32 // vCPUs between PollBegin and PollEnd

	stats counters
}

// NewTable creates the event channel table of a domain. Port 0 is
// reserved; shared_info is not placed yet (see SetSharedInfo).
func NewTable(cfg Config) (*Table, error) {
	if cfg.DomID == DomIDBackend || cfg.DomID >= DomIDFirstReserved {
		return nil, fmt.Errorf("%w: domain id %#x", ErrInvalidConfig, cfg.DomID)
	}
	if cfg.VCPUs < 1 || cfg.VCPUs > MaxVCPUs {
		return nil, fmt.Errorf("%w: %d vcpus (1..%d)", ErrInvalidConfig, cfg.VCPUs, MaxVCPUs)
	}
	if cfg.Memory == nil {
		return nil, fmt.Errorf("%w: no guest memory", ErrInvalidConfig)
	}
	maxPorts := cfg.MaxPorts
	if maxPorts == 0 {
		maxPorts = DefaultMaxPorts
	}
	if maxPorts < 2 || maxPorts > NrPorts {
		return nil, fmt.Errorf("%w: max ports %d (2..%d)", ErrInvalidConfig, maxPorts, NrPorts)
	}
	t := &Table{
		domid:    cfg.DomID,
		seq:      tableSeq.Add(1),
		mem:      cfg.Memory,
		up:       cfg.Upcaller,
		maxPorts: maxPorts,
		ports:    make([]channel, bucketPorts),
		vcpus:    make([]vcpuState, cfg.VCPUs),
	}
	if w, ok := cfg.Upcaller.(PollWaker); ok {
		t.waker = w
	}
	t.ports[0].state = stateReserved // evtchn_init
	for i := range t.vcpus {
		t.vcpus[i].poll.Store(pollNone)
	}
	return t, nil
}

// DomID returns the domain's id.
func (t *Table) DomID() uint16 { return t.domid }

// NumVCPUs returns the number of vCPUs.
func (t *Table) NumVCPUs() int { return len(t.vcpus) }

// MaxPorts returns the number of port numbers (the highest allocatable
// port is MaxPorts()-1).
func (t *Table) MaxPorts() int { return t.maxPorts }

// Stats returns a snapshot of the table's counters.
func (t *Table) Stats() Stats {
	c := &t.stats
	return Stats{
		Hypercalls: c.hypercalls.Load(),
		Sends:      c.sends.Load(),
		Raises:     c.raises.Load(),
		Upcalls:    c.upcalls.Load(),
		Kicks:      c.kicks.Load(),
		Notifies:   c.notifies.Load(),
		Unmasks:    c.unmasks.Load(),
		PollWakes:  c.pollWakes.Load(),
	}
}

// ActivePorts returns the number of allocated ports.
func (t *Table) ActivePorts() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.active
}

// validLocked mirrors port_is_valid: p lies in an allocated bucket.
// Caller holds t.mu.
func (t *Table) validLocked(p Port) bool { return uint64(p) < uint64(len(t.ports)) }

// freePortLocked mirrors get_free_port: the lowest free port, growing the
// valid range a bucket at a time, or -EINVAL for a dying domain and
// -ENOSPC when every port up to the limit is taken. The port stays free
// until the caller sets its state (check_free_port). Caller holds t.mu for
// writing.
func (t *Table) freePortLocked() (Port, error) {
	if t.dying {
		return 0, ErrDying
	}
	n := min(len(t.ports), t.maxPorts)
	for p := 1; p < n; p++ {
		if t.ports[p].state == stateFree {
			return Port(p), nil
		}
	}
	if len(t.ports) >= t.maxPorts {
		return 0, ErrNoFreePort
	}
	p := len(t.ports)
	t.ports = append(t.ports, make([]channel, bucketPorts)...)
	return Port(p), nil
}

// takeLocked marks free port p allocated in state s, notifying vCPU 0
// (a fresh port always notifies vCPU 0). Caller holds t.mu for writing.
func (t *Table) takeLocked(p Port, s chanState) *channel {
	c := &t.ports[p]
	*c = channel{state: s}
	t.active++
	return c
}

// lessTable orders tables for locking: by domain id, then creation.
func lessTable(a, b *Table) bool {
	if a.domid != b.domid {
		return a.domid < b.domid
	}
	return a.seq < b.seq
}

// lockPair write-locks a and b (once if they are the same table), lower
// domain id first.
func lockPair(a, b *Table) {
	if a == b {
		a.mu.Lock()
		return
	}
	if lessTable(b, a) {
		a, b = b, a
	}
	a.mu.Lock()
	b.mu.Lock()
}

// unlockPair undoes lockPair.
func unlockPair(a, b *Table) {
	a.mu.Unlock()
	if a != b {
		b.mu.Unlock()
	}
}
