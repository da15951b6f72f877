package vm

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
	"sync"
	"sync/atomic"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// vcpu is one vCPU and its thread state.
type vcpu struct {
	vm *VM
	id int
	kv *kvm.VCPU

	mu          sync.Mutex       // protects initCtx, isUp, initialised
	initCtx     *xen.VCPUContext // set by VCPUOP_initialise, applied by the vCPU thread
	isUp        bool             // running (vCPU 0 starts up)
	initialised bool             // has a register state (vCPU 0 always)
	upCh        chan struct{}    // signalled when the vCPU should (re)start
	stats       *kvm.Stats       // binary statistics, opened at creation (nil if unavailable)
	wakeFD      int              // eventfd that wakes a vCPU blocked in SCHEDOP_block / poll
	sleeping    atomic.Bool      // the vCPU thread is (about to be) in ppoll on wakeFD
	haltProbe   atomic.Bool      // the halt watcher kicked this vCPU to look at it
	haltedNoIF  atomic.Bool      // at the last probe: halted with RFLAGS.IF clear
	down        atomic.Bool      // VCPUOP_down requested
	exits       atomic.Uint64    // exits handled
}

func (v *VM) newVCPU(id int, supported []kvm.CPUIDEntry) (*vcpu, error) {
	kv, err := v.kvm.CreateVCPU(id)
	if err != nil {
		return nil, err
	}
	wfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		kv.Close()
		return nil, fmt.Errorf("vm: eventfd for vCPU %d: %w", id, err)
	}
	c := &vcpu{vm: v, id: id, kv: kv, upCh: make(chan struct{}, 1), wakeFD: wfd, initialised: id == 0}
	// Opened now: KVM_GET_STATS_FD is a vCPU ioctl, which waits for
	// KVM_RUN to return, so it cannot be issued while the guest runs.
	c.stats, _ = kv.StatsFD()
	if err := kv.SetCPUID(cpuidFor(supported, id, v.cfg.DomID)); err != nil {
		kv.Close()
		return nil, err
	}
	kv.SetSyncMask(kvm.SyncRegs | kvm.SyncSregs)
	return c, nil
}

// cpuidFor is KVM's supported CPUID with the hypervisor range replaced by
// Xen's leaves: a guest must not see KVM's signature next to Xen's.
func cpuidFor(supported []kvm.CPUIDEntry, vcpuID int, domID uint16) []kvm.CPUIDEntry {
	out := make([]kvm.CPUIDEntry, 0, len(supported)+8)
	for _, e := range supported {
		if e.Function >= 0x40000000 && e.Function <= 0x4fffffff {
			continue
		}
		out = append(out, e)
	}
	for _, l := range xen.CPUIDLeaves(vcpuID, domID) {
		e := kvm.CPUIDEntry{Function: l.Function, Index: l.Index, EAX: l.EAX, EBX: l.EBX, ECX: l.ECX, EDX: l.EDX}
		if l.Function == xen.CPUIDBase+3 {
			e.Flags = kvm.CPUIDFlagSignificantIndex
		}
		out = append(out, e)
	}
	return out
}

func (c *vcpu) close() {
	if c.stats != nil {
		c.stats.Close()
	}
	c.kv.Close()
	unix.Close(c.wakeFD)
}

// markUp starts the vCPU thread's run loop.
func (c *vcpu) markUp() {
	c.mu.Lock()
	c.isUp = true
	c.mu.Unlock()
	select {
	case c.upCh <- struct{}{}:
	default:
	}
}

// kick makes the vCPU leave KVM_RUN or a blocking hypercall.
func (c *vcpu) kick() {
	c.kv.Kick()
	c.wakeUp()
	select {
	case c.upCh <- struct{}{}:
	default:
	}
}

// thread is the vCPU's OS thread: it waits until the vCPU is up, then runs
// it until the VM stops.
func (c *vcpu) thread() {
	// The thread stays locked when the goroutine returns, so Go ends it:
	// a fleet that shrinks gives its threads back.
	runtime.LockOSThread()
	vcpuThreadStarted()
	defer vcpuThreadStopped()
	c.kv.BindThread()
	defer c.kv.UnbindThread()
	if f := c.vm.cfg.OnVCPUThread; f != nil {
		tid := unix.Gettid()
		f(c.id, tid, true)
		defer f(c.id, tid, false)
	}
	for {
		select {
		case <-c.upCh:
		case <-c.vm.done:
			return
		}
		if c.vm.stopping() {
			return
		}
		c.mu.Lock()
		up, ctx := c.isUp, c.initCtx
		c.initCtx = nil
		c.mu.Unlock()
		if !up {
			continue
		}
		if ctx != nil {
			if err := c.applyContext(ctx); err != nil {
				c.vm.stop(Result{Reason: ReasonHostError, Detail: err.Error()})
				return
			}
		}
		c.down.Store(false)
		if !c.loop() {
			return
		}
	}
}

// loop runs KVM_RUN until the VM stops (returns false) or the vCPU is
// taken down (returns true).
func (c *vcpu) loop() bool {
	for {
		if c.vm.stopping() {
			return false
		}
		if c.down.Load() {
			return true
		}
		exit, err := c.kv.Run()
		if err != nil {
			c.vm.stop(Result{Reason: ReasonHostError, Detail: err.Error()})
			return false
		}
		c.exits.Add(1)
		if exit.Reason == kvm.ExitInterrupted {
			// A kick: re-arm KVM_RUN and look at the VM state again.
			c.kv.ClearImmediateExit()
			if c.haltProbe.Load() {
				c.recordHalt()
			}
			continue
		}
		if c.haltedNoIF.Load() {
			c.haltedNoIF.Store(false) // it ran again: no longer halted
		}
		c.handle(exit)
	}
}

// paging returns the control registers needed to translate guest-virtual
// addresses, from the sync area filled at the last exit.
func (c *vcpu) paging() mem.Paging {
	cr0, cr3, cr4, efer := c.kv.SyncPaging()
	return mem.Paging{CR0: cr0, CR3: cr3, CR4: cr4, EFER: efer}
}

// ID implements xen.VCPU.
func (c *vcpu) ID() int { return c.id }

// CopyIn implements xen.VCPU: guest-virtual memory into dst.
func (c *vcpu) CopyIn(gva uint64, dst []byte) error {
	return c.vm.mem.CopyFromGuest(c.paging(), mem.GVA(gva), dst)
}

// CopyOut implements xen.VCPU: src into guest-virtual memory.
func (c *vcpu) CopyOut(gva uint64, src []byte) error {
	return c.vm.mem.CopyToGuest(c.paging(), mem.GVA(gva), src)
}

// wakeUp wakes the vCPU if it is blocked in SCHEDOP_block or poll. The
// caller has already made the sleeper's condition true (an event pending,
// a kick); a vCPU that is not sleeping costs nothing to wake.
func (c *vcpu) wakeUp() {
	if !c.sleeping.Load() {
		return
	}
	var one = [8]byte{1}
	unix.Write(c.wakeFD, one[:])
}

// sleep parks the vCPU thread until wakeUp or, if deadline is not zero,
// the deadline (ppoll on the wake eventfd: nanosecond timeouts, unlike Go
// timers), unless ready reports true once the thread has announced that it
// sleeps: a waker makes the condition true before it looks at sleeping, so
// no wakeup is lost.
func (c *vcpu) sleep(deadline time.Time, ready func() bool) {
	c.sleeping.Store(true)
	defer c.sleeping.Store(false)
	if c.vm.stopping() || (ready != nil && ready()) {
		return
	}
	fds := []unix.PollFd{{Fd: int32(c.wakeFD), Events: unix.POLLIN}}
	var ts *unix.Timespec
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return
		}
		t := unix.NsecToTimespec(d.Nanoseconds())
		ts = &t
	}
	unix.Ppoll(fds, ts, nil)
	var buf [8]byte
	unix.Read(c.wakeFD, buf[:])
}
