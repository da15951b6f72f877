package vm

import (
	"sync"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
)

// The kernel part of creating a VM grows with the number of VMs the
// process already holds: KVM_CREATE_VM registers an MMU notifier, and the
// kernel registers one by locking every memory mapping of the process
// (mm_take_all_locks), and each VM adds a mapping (its vCPUs' kvm_run).
// Memory-slot and irqchip set-up wait for SRCU grace periods, which a busy
// host stretches. None of it depends on the guest, so once a process
// creates a second VM of a shape, it keeps a few "shells" of that shape
// ready: guest RAM mapped, KVM VM created, memory slot registered, irqchip
// and capabilities set. New takes one when it can; a background goroutine
// builds the next. The kernel work is the same; it leaves the creation
// path. See docs/measurements.md, "Creation latency at scale".

// shell is a KVM VM with its guest RAM, memory slot and irqchip, not yet
// given to a VM.
type shell struct {
	mem *mem.Memory
	kvm *kvm.VM
}

// shellKey is the shape of a shell.
type shellKey struct {
	sys  *kvm.System
	size uint64
	opts mem.Options
}

// spareShells is how many shells of each shape the pool keeps ready.
const spareShells = 2

// sparePool holds prepared shells, by shape.
type sparePool struct {
	mu      sync.Mutex // protects everything below
	ready   map[shellKey][]*shell
	seen    map[shellKey]bool // a VM of this shape was created before
	filling map[shellKey]bool // a goroutine is building shells of this shape
	gen     uint64            // bumped by drain: fillers of an older generation stop
	wg      sync.WaitGroup    // running fillers
	off     bool              // SetSpares(0)
}

var spares = sparePool{ready: map[shellKey][]*shell{}, seen: map[shellKey]bool{}, filling: map[shellKey]bool{}, off: true}

// SetSpares turns the pool of prepared KVM VMs on or off for this process
// (off by default: a process that creates many VMs, such as the density
// benchmark, turns it on). Turning it off releases the shells it holds.
func SetSpares(on bool) {
	spares.mu.Lock()
	spares.off = !on
	spares.mu.Unlock()
	if !on {
		spares.drain()
	}
}

// take returns a prepared shell of the shape, or nil, and starts a filler
// when the shape has been created before: a process that creates one VM
// never builds spares.
func (p *sparePool) take(k shellKey) *shell {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.off {
		return nil
	}
	var s *shell
	if q := p.ready[k]; len(q) > 0 {
		s = q[len(q)-1]
		p.ready[k] = q[:len(q)-1]
	}
	if p.seen[k] && !p.filling[k] && len(p.ready[k]) < spareShells {
		p.filling[k] = true
		p.wg.Add(1)
		go p.fill(k, p.gen)
	}
	p.seen[k] = true
	return s
}

// fill builds shells of shape k until the pool holds spareShells of them.
func (p *sparePool) fill(k shellKey, gen uint64) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		if p.off || p.gen != gen || len(p.ready[k]) >= spareShells {
			p.filling[k] = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		s, err := newShell(k)
		p.mu.Lock()
		if err != nil || p.off || p.gen != gen {
			p.filling[k] = false
			p.mu.Unlock()
			if s != nil {
				s.close()
			}
			return
		}
		p.ready[k] = append(p.ready[k], s)
		p.mu.Unlock()
	}
}

// drain releases every prepared shell and waits for running fillers.
func (p *sparePool) drain() {
	p.mu.Lock()
	p.gen++
	var all []*shell
	for k, q := range p.ready {
		all = append(all, q...)
		delete(p.ready, k)
	}
	p.seen = map[shellKey]bool{}
	p.mu.Unlock()
	p.wg.Wait()
	for _, s := range all {
		s.close()
	}
}

// newShell maps guest RAM and creates a KVM VM for it: TSS address, memory
// slot 0, irqchip and the user-space MSR capability.
func newShell(k shellKey) (*shell, error) {
	m, err := mem.New(k.size, k.opts)
	if err != nil {
		return nil, err
	}
	s := &shell{mem: m}
	if s.kvm, err = k.sys.CreateVM(); err != nil {
		s.close()
		return nil, err
	}
	if err := setupKVM(s.kvm, m); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// setupKVM gives a new KVM VM its TSS address, memory slot, irqchip and
// user-space MSR exits.
func setupKVM(k *kvm.VM, m *mem.Memory) error {
	if err := k.SetTSSAddr(0xfffbd000); err != nil {
		return err
	}
	// Memory slots before the irqchip: the first slot change after
	// KVM_CREATE_IRQCHIP stalls for milliseconds (host-probe.md).
	if err := k.SetUserMemoryRegion(kvm.MemoryRegion{Slot: 0, Memory: m.Bytes()}); err != nil {
		return err
	}
	if err := k.CreateIRQChip(); err != nil {
		return err
	}
	// Unknown and filtered MSRs exit to user space: that is how the
	// hypercall-page MSR reaches the monitor.
	return k.EnableCap(kvm.CapX86UserSpaceMSR, kvm.MSRExitInval|kvm.MSRExitUnknown|kvm.MSRExitFilter)
}

// close releases a shell; the KVM VM goes in the background, like a VM's.
func (s *shell) close() {
	if s.kvm != nil {
		k := s.kvm
		pendingCloses.Add(1)
		go func() {
			defer pendingCloses.Done()
			k.Close()
		}()
	}
	if s.mem != nil {
		s.mem.Close()
	}
}
