package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xenolith/xenolith/hv/boot"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
	"github.com/xenolith/xenolith/hv/xenstore"
)

// MaxVCPUs is the largest vCPU count a VM may have.
const MaxVCPUs = 64

// Config describes a VM.
type Config struct {
	Name     string // for logs; defaults to "vm"
	DomID    uint16 // Xen domain id the guest sees; 0 means 1
	MemBytes uint64 // guest RAM; a multiple of 4 KiB
	VCPUs    int    // 1..MaxVCPUs
	Kernel   []byte // PVH ELF image
	Cmdline  string
	// Console receives console_io output and debug-port bytes. Nil discards.
	Console io.Writer
	// OnReport receives guestkit test-protocol reports, on the reporting
	// vCPU's thread. Nil ignores them.
	OnReport func(Report)
	Logger   *slog.Logger
	// Memory selects how guest RAM is backed.
	Memory mem.Options
	// Hub connects the event channels of VMs in one process (for
	// bind_interdomain between them); nil gives the VM a hub of its own.
	Hub *evtchn.Hub
	// Store is the xenstore shared by VMs in one process; nil gives the VM
	// a store of its own.
	Store *xenstore.Store
	// OnVCPUThread is called on each vCPU's OS thread when it starts
	// (start true) and before it exits (start false), with the thread id:
	// tracers use it to attribute kernel events to this VM. Nil ignores.
	OnVCPUThread func(vcpu, tid int, start bool)
}

// VM is one virtual machine.
type VM struct {
	cfg    Config
	log    *slog.Logger
	sys    *kvm.System
	kvm    *kvm.VM
	mem    *mem.Memory
	image  *boot.Image
	vcpus  []*vcpu
	xen    *xen.Dispatcher
	pv     *pv
	tscKHz uint64
	start  time.Time // creation start, for "create to main"

	consoleMu sync.Mutex // serialises console writes

	stopOnce sync.Once
	done     chan struct{} // closed when the VM must stop
	resultMu sync.Mutex
	result   Result

	shutdownCode atomic.Int64 // -1 unset

	faults    atomic.Uint64 // guest faults counted (bad ports, bad MSRs)
	lastFault atomic.Int64  // unix nanos of the last logged fault
	closeOnce sync.Once
	breakdown CreateBreakdown
}

// CreateBreakdown is where VM creation time went.
type CreateBreakdown struct {
	Memory time.Duration `json:"memory_ns"` // guest RAM mapping
	Load   time.Duration `json:"load_ns"`   // kernel image and boot information
	KVMVM  time.Duration `json:"kvm_vm_ns"` // KVM VM, memory slot, irqchip, capabilities
	VCPUs  time.Duration `json:"vcpus_ns"`  // vCPUs, CPUID, registers
	PV     time.Duration `json:"pv_ns"`     // event channels, grants, xenstore, console, time
	// Spare is true when the guest RAM and KVM VM (memory slot, irqchip,
	// capabilities) came ready-made from the pool of spares: KVMVM is
	// then close to zero and Memory is the time to take one.
	Spare bool `json:"spare"`
}

// Breakdown returns where this VM's creation time went.
func (v *VM) Breakdown() CreateBreakdown { return v.breakdown }

// New creates a VM: KVM VM, guest RAM, memory slot, irqchip, vCPUs, CPUID,
// and the kernel loaded in the PVH entry state. sys is shared by VMs.
func New(sys *kvm.System, cfg Config) (*VM, error) {
	start := time.Now()
	if cfg.Name == "" {
		cfg.Name = "vm"
	}
	if cfg.DomID == 0 {
		cfg.DomID = 1
	}
	if cfg.VCPUs < 1 || cfg.VCPUs > MaxVCPUs {
		return nil, &ConfigError{fmt.Errorf("vm: vCPU count %d out of range 1..%d", cfg.VCPUs, MaxVCPUs)}
	}
	if cfg.MemBytes == 0 || cfg.MemBytes%4096 != 0 {
		return nil, &ConfigError{fmt.Errorf("vm: memory size %d is not a positive multiple of 4 KiB", cfg.MemBytes)}
	}
	if cfg.Console == nil {
		cfg.Console = io.Discard
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	v := &VM{cfg: cfg, log: log.With("vm", cfg.Name), sys: sys, start: start, done: make(chan struct{})}
	v.shutdownCode.Store(-1)
	if err := v.create(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func (v *VM) create() error {
	var err error
	mark := func(d *time.Duration) func() {
		t := time.Now()
		return func() { *d = time.Since(t) }
	}
	b := &v.breakdown
	key := shellKey{sys: v.sys, size: v.cfg.MemBytes, opts: v.cfg.Memory}
	done := mark(&b.Memory)
	sh := spares.take(key)
	if sh != nil {
		v.mem, v.kvm = sh.mem, sh.kvm
	} else if v.mem, err = mem.New(v.cfg.MemBytes, v.cfg.Memory); err != nil {
		return err
	}
	done()
	done = mark(&b.Load)
	if v.image, err = boot.Load(v.mem.Bytes(), v.cfg.Kernel, boot.Options{Cmdline: v.cfg.Cmdline, FreshRAM: true}); err != nil {
		return &ConfigError{err}
	}
	// The monitor reads and writes the xenstore and console rings: make
	// them private pages now, so that no copy-on-write of the zero page
	// (which costs time in proportion to the VMs in the process) happens
	// later. Best effort: a failure only costs that fault.
	_ = v.mem.PopulateWrite(mem.GPA(boot.ReservedBase(v.cfg.MemBytes)), 2*mem.PageSize)
	done()
	done = mark(&b.KVMVM)
	if sh == nil {
		if v.kvm, err = v.sys.CreateVM(); err != nil {
			return err
		}
		if err = setupKVM(v.kvm, v.mem); err != nil {
			return err
		}
	}
	b.Spare = sh != nil
	done()
	done = mark(&b.VCPUs)
	supported, err := v.sys.SupportedCPUID()
	if err != nil {
		return err
	}
	for i := 0; i < v.cfg.VCPUs; i++ {
		c, err := v.newVCPU(i, supported)
		if err != nil {
			return err
		}
		v.vcpus = append(v.vcpus, c)
	}
	if v.tscKHz, err = v.vcpus[0].kv.TSCKHz(); err != nil {
		v.tscKHz = 0
	}
	// The dispatcher and the PV machinery refer to each other: hooks are
	// installed before the dispatcher is built, the PV pages after.
	done()
	done = mark(&b.PV)
	defer done()
	v.pv = &pv{v: v}
	var opts xen.Options
	v.pv.hooks(&opts)
	v.xen = xen.NewDispatcher(&domain{v}, opts)
	if err := v.setupPV(); err != nil {
		return err
	}
	return v.vcpus[0].setPVHEntry(v.image)
}

// Memory returns the VM's guest RAM.
func (v *VM) Memory() *mem.Memory { return v.mem }

// TSCKHz returns the guest TSC frequency in kHz (0 if unknown).
func (v *VM) TSCKHz() uint64 { return v.tscKHz }

// Created returns when New started creating the VM.
func (v *VM) Created() time.Time { return v.start }

// Hypercalls returns the dispatcher's per-hypercall counts.
func (v *VM) Hypercalls() *xen.Dispatcher { return v.xen }

// Run starts vCPU 0 (the others start when the guest brings them up) and
// blocks until the VM stops: the guest shuts down, the monitor destroys it,
// or ctx is cancelled (Result.Reason is then ReasonStopped).
func (v *VM) Run(ctx context.Context) (Result, error) {
	var wg sync.WaitGroup
	for _, c := range v.vcpus {
		wg.Add(1)
		go func(c *vcpu) {
			defer wg.Done()
			c.thread()
		}(c)
	}
	v.vcpus[0].markUp()
	halts.add(v)
	defer halts.remove(v)
	select {
	case <-ctx.Done():
		v.stop(Result{Reason: ReasonStopped})
	case <-v.done:
	}
	wg.Wait()
	v.resultMu.Lock()
	r := v.result
	v.resultMu.Unlock()
	if c := v.shutdownCode.Load(); c >= 0 {
		r.Code, r.HasCode = uint32(c), true
	}
	if r.Reason == ReasonHostError {
		return r, errors.New("vm: " + r.Detail)
	}
	return r, nil
}

// Stop asks the VM to stop; Run then returns ReasonStopped.
func (v *VM) Stop() { v.stop(Result{Reason: ReasonStopped}) }

// stop records the first result and makes every vCPU leave KVM_RUN.
func (v *VM) stop(r Result) {
	v.stopOnce.Do(func() {
		v.resultMu.Lock()
		v.result = r
		v.resultMu.Unlock()
		close(v.done)
		for _, c := range v.vcpus {
			c.kick()
		}
	})
}

// destroy stops the VM because of a guest fault, with a clear log line.
func (v *VM) destroy(format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	v.log.Warn("destroying VM", "reason", detail)
	v.stop(Result{Reason: ReasonDestroyed, Detail: detail})
}

// stopping reports whether the VM is stopping.
func (v *VM) stopping() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// guestFault counts a guest misbehaviour that does not end the VM and logs
// it at most once a second.
func (v *VM) guestFault(msg string, args ...any) {
	v.faults.Add(1)
	now := time.Now().UnixNano()
	last := v.lastFault.Load()
	if now-last > int64(time.Second) && v.lastFault.CompareAndSwap(last, now) {
		v.log.Warn("guest fault: "+msg, append(args, "faults", v.faults.Load())...)
	}
}

// Faults returns the number of guest faults counted so far.
func (v *VM) Faults() uint64 { return v.faults.Load() }

// pendingCloses counts VM fds still being closed in the background.
var pendingCloses sync.WaitGroup

// Close releases the VM's vCPUs, KVM VM and guest RAM. Call after Run
// returns. The kernel's destruction of the KVM VM (10-20 ms with an
// in-kernel irqchip on this host) happens in the background; WaitClosed
// waits for it.
func (v *VM) Close() error {
	v.closeOnce.Do(func() {
		// Wait for a stop still kicking vCPUs (sync.Once.Do returns only
		// after the first call's function has finished), so that no kick
		// touches a kvm_run page being unmapped; a later stop is a no-op.
		v.stopOnce.Do(func() {})
		v.pv.close()
		for _, c := range v.vcpus {
			c.close()
		}
		if v.kvm != nil {
			k := v.kvm
			pendingCloses.Add(1)
			go func() {
				defer pendingCloses.Done()
				k.Close()
			}()
		}
		// KVM follows host mappings through MMU notifiers, so guest RAM can
		// go before the VM fd does: no vCPU runs any more. Backends may
		// still hold grants (a disk detached after the VM ended), so the
		// RAM goes when the last hold is released.
		if v.mem != nil {
			v.pv.closeMemory(v.mem)
		}
	})
	return nil
}

// WaitClosed releases the prepared spare VMs (see SetSpares) and waits
// until every closed VM's KVM fd is released: afterwards the process holds
// no KVM resources for VMs that are gone.
func WaitClosed() {
	spares.drain()
	pendingCloses.Wait()
}

func (v *VM) consoleWrite(p []byte) {
	v.consoleMu.Lock()
	v.cfg.Console.Write(p)
	v.consoleMu.Unlock()
}

// Exits returns the number of exits handled across all vCPUs.
func (v *VM) Exits() uint64 {
	var n uint64
	for _, c := range v.vcpus {
		n += c.exits.Load()
	}
	return n
}

// VCPUStats reads KVM's binary statistics of vCPU i (e.g. "exits",
// "insn_emulation", "blocking"). It is a pread on a fd opened at creation,
// so it may be called while the vCPU runs.
func (v *VM) VCPUStats(i int) (map[string]uint64, error) {
	if i < 0 || i >= len(v.vcpus) {
		return nil, fmt.Errorf("vm: no vCPU %d", i)
	}
	s := v.vcpus[i].stats
	if s == nil {
		return nil, fmt.Errorf("vm: vCPU %d has no binary statistics (KVM_CAP_BINARY_STATS_FD)", i)
	}
	return s.Read()
}

// SetCmdline replaces the guest's command line; call it before Run.
func (v *VM) SetCmdline(s string) error {
	if err := boot.SetCmdline(v.mem.Bytes(), s); err != nil {
		return &ConfigError{err}
	}
	v.cfg.Cmdline = s
	return nil
}
