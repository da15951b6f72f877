package probe

import (
	"fmt"
	"sort"
	"time"
)

// NumReasons is how many KVM_EXIT_* reasons Counters.Exits keeps apart;
// larger reasons are counted in the last slot.
const NumReasons = 32

// Global counter indices (enum global in probe.c).
const (
	gMonitorCPUNs = 0
	gMSIMonitor   = 1
	gMSIOther     = 2
	gBlockN       = 3
	gBlockNs      = 4
	gHits         = 16
	gMax          = 32
)

// hBlock is the kind of the hists map's block latency buckets (enum
// hist_kind in probe.c); the monitor and run-queue histograms are per thread.
const hBlock = 2

// Counters are one vCPU's (or a VM's summed) event counts.
type Counters struct {
	Exits             [NumReasons]uint64 `json:"exits"`              // userspace exits by KVM_EXIT_* reason
	ExitErrors        uint64             `json:"exit_errors"`        // KVM_RUN errors (-EINTR after a kick)
	PIOUser           uint64             `json:"pio_user"`           // port accesses answered by the monitor
	PIOKernel         uint64             `json:"pio_kernel"`         // port accesses answered in the kernel
	MMIOUser          uint64             `json:"mmio_user"`          // MMIO accesses answered by the monitor
	MMIOKernel        uint64             `json:"mmio_kernel"`        // MMIO accesses answered in the kernel
	Emulations        uint64             `json:"emulations"`         // instructions emulated by KVM
	EmulationFailures uint64             `json:"emulation_failures"` // of which failed
	Wakeups           uint64             `json:"wakeups"`            // halts ended by a wakeup after waiting
	HaltPolls         uint64             `json:"halt_polls"`         // halts ended while halt-polling
	PollInvalid       uint64             `json:"poll_invalid"`       // wakeups whose polling KVM judged invalid
	HaltNs            uint64             `json:"halt_ns"`            // time halted
	Injections        uint64             `json:"injections"`         // MSIs (upcalls) injected from this vCPU's thread
	MonitorNs         uint64             `json:"monitor_ns"`         // time in the monitor per userspace exit, summed
	MonitorN          uint64             `json:"monitor_n"`          // exits that re-entered KVM_RUN
	RunQueueNs        uint64             `json:"runq_ns"`            // run-queue delay, summed
	RunQueueN         uint64             `json:"runq_n"`             // run-queue waits
	OnCPUNs           uint64             `json:"oncpu_ns"`           // on-CPU time of the vCPU thread
}

// UserspaceExits returns the exits to the monitor (all reasons, not errors).
func (c *Counters) UserspaceExits() uint64 {
	var n uint64
	for _, v := range c.Exits {
		n += v
	}
	return n
}

// fields lists the counters for element-wise arithmetic.
func (c *Counters) fields() []*uint64 {
	f := []*uint64{&c.ExitErrors, &c.PIOUser, &c.PIOKernel, &c.MMIOUser, &c.MMIOKernel,
		&c.Emulations, &c.EmulationFailures, &c.Wakeups, &c.HaltPolls, &c.PollInvalid, &c.HaltNs,
		&c.Injections, &c.MonitorNs, &c.MonitorN, &c.RunQueueNs, &c.RunQueueN, &c.OnCPUNs}
	for i := range c.Exits {
		f = append(f, &c.Exits[i])
	}
	return f
}

func (c *Counters) add(o *Counters, sign int) {
	a, b := c.fields(), o.fields()
	for i := range a {
		if sign < 0 {
			*a[i] -= *b[i]
		} else {
			*a[i] += *b[i]
		}
	}
}

// Access is how a guest touched an address.
type Access uint32

// Access kinds (enum access in probe.c).
const (
	PIOOut    Access = 1
	PIOIn     Access = 2
	MMIORead  Access = 3
	MMIOWrite Access = 4
)

func (a Access) String() string {
	switch a {
	case PIOOut:
		return "out"
	case PIOIn:
		return "in"
	case MMIORead:
		return "mmio-read"
	case MMIOWrite:
		return "mmio-write"
	}
	return fmt.Sprintf("access(%d)", uint32(a))
}

// PortKey is one address a VM accessed, and who answered.
type PortKey struct {
	Access Access `json:"access"`
	Addr   uint64 `json:"addr"` // port or guest-physical address
	User   bool   `json:"user"` // answered by the monitor (else in the kernel)
}

// VMStats are one VM's counters.
type VMStats struct {
	ID       VMID               `json:"id"`
	Name     string             `json:"name"`
	Total    Counters           `json:"total"`
	VCPUs    map[int]*Counters  `json:"vcpus"`
	Ports    map[PortKey]uint64 `json:"-"`
	Monitor  Histogram          `json:"monitor_hist"` // time in the monitor per exit
	RunQueue Histogram          `json:"runq_hist"`    // run-queue delay
}

// Port returns how often the VM accessed addr with access a, answered by
// the monitor (user) or in the kernel.
func (s *VMStats) Port(a Access, addr uint64, user bool) uint64 {
	return s.Ports[PortKey{a, addr, user}]
}

// Snapshot is the counters at one time.
type Snapshot struct {
	Time              time.Time            `json:"time"`
	VMs               map[VMID]*VMStats    `json:"vms"`
	MonitorCPUNs      uint64               `json:"monitor_cpu_ns"`     // non-vCPU threads of the monitor
	InjectionsMonitor uint64               `json:"injections_monitor"` // MSIs from non-vCPU monitor threads
	InjectionsOther   uint64               `json:"injections_other"`   // MSIs from other processes
	BlockN            uint64               `json:"block_n"`            // block requests completed, host-wide
	BlockNs           uint64               `json:"block_ns"`
	Block             Histogram            `json:"block_hist"`
	Fired             [gMax - gHits]uint64 `json:"-"`
}

// vm returns the VM's entry, creating it.
func (s *Snapshot) vm(id VMID, name string) *VMStats {
	v := s.VMs[id]
	if v == nil {
		if name == "" {
			name = fmt.Sprintf("vm-%08x", uint32(id))
		}
		v = &VMStats{ID: id, Name: name, VCPUs: map[int]*Counters{}, Ports: map[PortKey]uint64{}}
		s.VMs[id] = v
	}
	return v
}

// IDs returns the VM ids in order.
func (s *Snapshot) IDs() []VMID {
	var ids []VMID
	for id := range s.VMs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Sub returns s minus an earlier snapshot old: the events in between.
func (s *Snapshot) Sub(old *Snapshot) *Snapshot {
	d := &Snapshot{Time: s.Time, VMs: map[VMID]*VMStats{},
		MonitorCPUNs: s.MonitorCPUNs - old.MonitorCPUNs, InjectionsMonitor: s.InjectionsMonitor - old.InjectionsMonitor,
		InjectionsOther: s.InjectionsOther - old.InjectionsOther, BlockN: s.BlockN - old.BlockN,
		BlockNs: s.BlockNs - old.BlockNs, Block: s.Block.Sub(&old.Block)}
	for i := range d.Fired {
		d.Fired[i] = s.Fired[i] - old.Fired[i]
	}
	for id, v := range s.VMs {
		n := d.vm(id, v.Name)
		o := old.VMs[id]
		if o == nil {
			o = &VMStats{}
		}
		n.Total = v.Total
		n.Total.add(&o.Total, -1)
		for i, c := range v.VCPUs {
			cc := *c
			if oc := o.VCPUs[i]; oc != nil {
				cc.add(oc, -1)
			}
			n.VCPUs[i] = &cc
		}
		for k, c := range v.Ports {
			if c -= o.Ports[k]; c != 0 {
				n.Ports[k] = c
			}
		}
		n.Monitor = v.Monitor.Sub(&o.Monitor)
		n.RunQueue = v.RunQueue.Sub(&o.RunQueue)
	}
	return d
}

// Snapshot reads every counter.
func (t *Tracer) Snapshot() (*Snapshot, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	s := &Snapshot{Time: time.Now(), VMs: map[VMID]*VMStats{}}
	if err := t.threadsLocked(s); err != nil {
		return nil, err
	}
	var (
		pk   probePortKey
		vals []uint64
	)
	it := t.coll.Maps["ports"].Iterate()
	for it.Next(&pk, &vals) {
		v := s.vm(VMID(pk.Vm), t.vms[VMID(pk.Vm)])
		v.Ports[PortKey{Access(pk.Kind), pk.Addr, pk.User != 0}] += sum(vals)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("probe: read ports: %w", err)
	}
	var hk probeHistKey
	it = t.coll.Maps["hists"].Iterate()
	for it.Next(&hk, &vals) {
		if int(hk.Bucket) >= len(Histogram{}) {
			continue
		}
		if hk.Kind == hBlock { // the VM histograms are kept per thread
			s.Block[hk.Bucket] += sum(vals)
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("probe: read histograms: %w", err)
	}
	g, err := t.globalsLocked()
	if err != nil {
		return nil, err
	}
	s.MonitorCPUNs, s.InjectionsMonitor, s.InjectionsOther = g[gMonitorCPUNs], g[gMSIMonitor], g[gMSIOther]
	s.BlockN, s.BlockNs = g[gBlockN], g[gBlockNs]
	copy(s.Fired[:], g[gHits:])
	return s, nil
}

func (t *Tracer) globals() ([]uint64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	return t.globalsLocked()
}

func (t *Tracer) globalsLocked() ([]uint64, error) {
	out := make([]uint64, gMax)
	var vals []uint64
	for i := range out {
		if err := t.coll.Maps["globals"].Lookup(uint32(i), &vals); err != nil {
			return nil, fmt.Errorf("probe: read globals: %w", err)
		}
		out[i] = sum(vals)
	}
	return out, nil
}

func sum(v []uint64) uint64 {
	var n uint64
	for _, x := range v {
		n += x
	}
	return n
}

func fromProbe(p *probeCounters) *Counters {
	return &Counters{Exits: p.Exits, ExitErrors: p.ExitErrors, PIOUser: p.PioUser, PIOKernel: p.PioKernel,
		MMIOUser: p.MmioUser, MMIOKernel: p.MmioKernel, Emulations: p.Emulations,
		EmulationFailures: p.EmulationFailures, Wakeups: p.Wakeups, HaltPolls: p.HaltPolls,
		PollInvalid: p.PollInvalid, HaltNs: p.HaltNs, Injections: p.Injections, MonitorNs: p.MonitorNs,
		MonitorN: p.MonitorN, RunQueueNs: p.RunqNs, RunQueueN: p.RunqN, OnCPUNs: p.OncpuNs}
}
