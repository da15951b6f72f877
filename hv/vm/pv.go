package vm

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/xenolith/xenolith/hv/boot"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/gnttab"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
	"github.com/xenolith/xenolith/hv/xenstore"
)

// Pages of the reserved tail of RAM (boot.ReservedBase), in page units.
const (
	reservedStoreRing   = 0 // xenstore ring (HVM_PARAM_STORE_PFN)
	reservedConsoleRing = 1 // PV console ring (HVM_PARAM_CONSOLE_PFN)
	reservedGrantFirst  = 2 // GNTTABOP_setup_table frames
	reservedGrantFrames = 8
)

// pv is a VM's Xen PV machinery: event channels, grant table, xenstore and
// console rings, timers and the time pages.
type pv struct {
	v       *VM
	evt     *evtchn.Table
	hub     *evtchn.Hub
	grants  *gnttab.Table
	store   *xenstore.Store
	up      *upcalls
	clock   *pvclock
	timers  []*vcpuTimer
	reserve uint64 // GPA of the reserved tail

	storeEP   *evtchn.Endpoint
	storeConn *xenstore.Conn
	consEP    *evtchn.Endpoint
	bells     doorbells // in-kernel doorbells by guest port
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	ownHub, ownStore bool
}

// setupPV creates the PV machinery. Called from create, after the vCPUs.
func (v *VM) setupPV() error {
	p := v.pv
	p.hub, p.store, p.reserve = v.cfg.Hub, v.cfg.Store, boot.ReservedBase(v.cfg.MemBytes)
	if p.hub == nil {
		p.hub, p.ownHub = evtchn.NewHub(), true
	}
	if p.store == nil {
		p.store, p.ownStore = xenstore.New(xenstore.Options{}), true
	}
	p.up = newUpcalls(v)
	var err error
	p.evt, err = evtchn.NewTable(evtchn.Config{DomID: v.cfg.DomID, VCPUs: len(v.vcpus), Memory: v.mem, Upcaller: p})
	if err != nil {
		return err
	}
	if err := p.hub.Register(p.evt); err != nil {
		return fmt.Errorf("vm: domain %d: %w", v.cfg.DomID, err)
	}
	var frames []mem.GPA
	for i := 0; i < reservedGrantFrames; i++ {
		frames = append(frames, mem.GPA(p.reserve+uint64(reservedGrantFirst+i)*4096))
	}
	if p.grants, err = gnttab.New(v.mem, gnttab.Options{DomID: v.cfg.DomID, BackendDomID: 0, SetupFrames: frames}); err != nil {
		return err
	}
	p.timers = make([]*vcpuTimer, len(v.vcpus))
	for i := range p.timers {
		p.timers[i] = &vcpuTimer{p: p, vcpu: i}
	}
	// The guest TSC is read inside an ioctl: anchor it at the midpoint of
	// the host times around it, and keep the half-width as the clock's
	// uncertainty so that timers never fire early in the guest's view.
	tsc := []kvm.MSR{{Index: kvm.MSRTSC}}
	ta := time.Now()
	if err := v.vcpus[0].kv.GetMSRs(tsc); err != nil {
		return err
	}
	tb := time.Now()
	half := tb.Sub(ta) / 2
	p.clock = newPVClock(v.tscKHz, tsc[0].Data, ta.Add(half), v.start)
	p.clock.margin = half + time.Microsecond

	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	if err := p.setupStore(ctx); err != nil {
		return err
	}
	return p.setupConsole(ctx)
}

// setupStore introduces the domain to xenstore and connects its ring.
func (p *pv) setupStore(ctx context.Context) error {
	v := p.v
	if err := p.store.Introduce(xenstore.DomID(v.cfg.DomID)); err != nil {
		return err
	}
	if err := p.writeDomainTree(); err != nil {
		return err
	}
	ring, err := v.mem.Slice(mem.GPA(p.reserve+reservedStoreRing*4096), 4096)
	if err != nil {
		return err
	}
	port, ep, err := p.backendPort()
	if err != nil {
		return err
	}
	p.storeEP = ep
	p.storeConn = xenstore.NewRingConn(p.store, v.cfg.DomID, ring, ep.Notify)
	v.xen.SetParam(xen.HVMParamStorePFN, (p.reserve/4096)+reservedStoreRing)
	v.xen.SetParam(xen.HVMParamStoreEvtchn, uint64(port))
	p.serve(ctx, ep, p.storeConn.Service)
	return nil
}

// backendPort pre-creates a guest port bound to a monitor endpoint, with an
// in-kernel doorbell for the guest's sends.
func (p *pv) backendPort() (evtchn.Port, *evtchn.Endpoint, error) {
	port, err := p.evt.AllocPortForBackend(0)
	if err != nil {
		return 0, nil, err
	}
	ep, err := p.evt.BindBackend(port)
	if err != nil {
		return 0, nil, err
	}
	if err := p.doorbell(port, ep.KickFD()); err != nil {
		ep.Close()
		return 0, nil, err
	}
	return port, ep, nil
}

// serve runs fn after every kick of ep until ctx ends or ep closes.
func (p *pv) serve(ctx context.Context, ep *evtchn.Endpoint, fn func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			if err := ep.Wait(ctx); err != nil {
				return
			}
			ep.Drain()
			fn()
		}
	}()
}

// Upcall implements evtchn.Upcaller.
func (p *pv) Upcall(vcpu int) { p.up.Upcall(vcpu) }

// PollWake implements evtchn.PollWaker.
func (p *pv) PollWake(vcpu int) {
	if vcpu >= 0 && vcpu < len(p.v.vcpus) {
		p.v.vcpus[vcpu].wakeUp()
	}
}

// close stops the PV goroutines and releases the domain's PV state.
func (p *pv) close() {
	if p == nil {
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.closeDoorbells()
	for _, t := range p.timers {
		if t != nil {
			t.stop()
		}
	}
	if p.storeEP != nil {
		p.storeEP.Close()
	}
	if p.consEP != nil {
		p.consEP.Close()
	}
	p.wg.Wait()
	if p.storeConn != nil {
		p.storeConn.Close()
	}
	if p.evt != nil {
		p.hub.Unregister(p.v.cfg.DomID)
		p.evt.Destroy()
	}
	if p.store != nil {
		p.store.Release(xenstore.DomID(p.v.cfg.DomID))
	}
	if p.up != nil {
		p.up.close()
	}
}

// hooks returns the hypercall hooks that route PV calls here.
func (p *pv) hooks(o *xen.Options) {
	o.Features = xen.DefaultFeatures | 1<<xen.XenfeatHVMCallbackVector | 1<<xen.XenfeatHVMSafePVClock
	o.Now = p.clock0
	o.BackendDomID = 0
	o.Handlers = map[uint64]xen.Handler{
		xen.HypercallEventChannelOp: p.eventChannelOp,
		xen.HypercallGrantTableOp:   func(v xen.VCPU, c xen.Call) int64 { return p.grants.Hypercall(v, c.Args[0], c.Args[1], c.Args[2]) },
		xen.HypercallSetTimerOp:     p.setTimerOp,
	}
	o.MemoryOps = map[uint64]xen.Handler{xen.XenmemAddToPhysmap: p.addToPhysmap}
	o.VCPUOps = map[int32]xen.Handler{
		xen.VCPUOpRegisterVCPUInfo:    p.registerVCPUInfo,
		xen.VCPUOpSetSingleshotTimer:  p.setSingleshot,
		xen.VCPUOpStopSingleshotTimer: p.stopSingleshot,
		xen.VCPUOpSetPeriodicTimer:    p.setPeriodic,
		xen.VCPUOpStopPeriodicTimer:   p.stopPeriodic,
	}
	o.HVMOps = map[uint64]xen.Handler{xen.HVMOpSetEvtchnUpcallVector: p.setUpcallVector}
}

// clock0 is Xen system time, for HVMOP_get_time; the clock is created after
// the dispatcher, so it is read late.
func (p *pv) clock0() uint64 {
	if p.clock == nil {
		return 0
	}
	return p.clock.systemTime()
}

// ParamSet implements xen.ParamObserver: HVM_PARAM_CALLBACK_IRQ of type 2
// (vector) routes upcalls to that vector; any other type turns the
// global vector off (GSI and PCI INTx delivery are not offered).
func (p *pv) ParamSet(v xen.VCPU, idx uint32, val uint64) {
	if idx != xen.HVMParamCallbackIRQ {
		return
	}
	var vec uint8
	if val>>56 == 2 {
		vec = uint8(val)
	}
	if err := p.up.setGlobal(vec); err != nil {
		p.v.log.Warn("setting the upcall vector failed", "err", err)
	}
}

// addToPhysmap answers XENMEM_add_to_physmap for shared_info and grant
// frames (xen/include/public/memory.h). Other spaces are refused as QEMU's
// Xen emulation refuses them.
func (p *pv) addToPhysmap(v xen.VCPU, c xen.Call) int64 {
	var b [24]byte
	if err := v.CopyIn(c.Args[1], b[:]); err != nil {
		return xen.EFAULT.Ret()
	}
	le := binary.LittleEndian
	domid, space, idx, gpfn := le.Uint16(b[0:]), le.Uint32(b[4:]), le.Uint64(b[8:]), le.Uint64(b[16:])
	if domid != xen.DomIDSelf && domid != p.v.cfg.DomID {
		return xen.ESRCH.Ret()
	}
	if gpfn >= p.v.cfg.MemBytes/4096 {
		return xen.EINVAL.Ret()
	}
	switch space {
	case 0: // XENMAPSPACE_shared_info
		if idx != 0 {
			return xen.EINVAL.Ret()
		}
		page, err := p.v.mem.Slice(mem.GPA(gpfn*4096), 4096)
		if err != nil {
			return xen.EINVAL.Ret()
		}
		clear(page)
		if err := p.evt.SetSharedInfo(mem.GPA(gpfn * 4096)); err != nil {
			return evtchn.ErrnoOf(err).Ret()
		}
		p.writeWallclock(page)
		for i := range p.v.vcpus {
			if i < 32 {
				if _, ok := p.evt.VCPUInfo(i); ok {
					p.writeTime(i)
				}
			}
		}
		return 0
	case 1: // XENMAPSPACE_grant_table
		if err := p.grants.MapFrame(uint32(idx), gpfn); err != nil {
			return gnttab.ErrnoOf(err).Ret()
		}
		return 0
	case 2, 3: // gmfn, gmfn_range
		return xen.EOPNOTSUPP.Ret()
	}
	return xen.EPERM.Ret()
}

// registerVCPUInfo answers VCPUOP_register_vcpu_info ({mfn u64, offset u32,
// rsvd u32}; the area must not cross a page).
func (p *pv) registerVCPUInfo(v xen.VCPU, c xen.Call) int64 {
	var b [16]byte
	if err := v.CopyIn(c.Args[2], b[:]); err != nil {
		return xen.EFAULT.Ret()
	}
	le := binary.LittleEndian
	mfn, off := le.Uint64(b[0:]), le.Uint32(b[8:])
	if off > 4096-64 || mfn >= p.v.cfg.MemBytes/4096 {
		return xen.EINVAL.Ret()
	}
	id := int(uint32(c.Args[1]))
	if err := p.evt.SetVCPUInfo(id, mem.GPA(mfn*4096+uint64(off))); err != nil {
		return evtchn.ErrnoOf(err).Ret()
	}
	p.writeTime(id)
	return 0
}

// writeTime publishes vcpu_time_info (offset 32 of vcpu_info) for vCPU id,
// with the version protocol: odd while updating, even after.
func (p *pv) writeTime(id int) {
	gpa, ok := p.evt.VCPUInfo(id)
	if !ok {
		return
	}
	area, err := p.v.mem.Slice(mem.GPA(uint64(gpa)+32), 32)
	if err != nil {
		return
	}
	ver := binary.LittleEndian.Uint32(area[0:])
	binary.LittleEndian.PutUint32(area[0:], ver|1)
	var tmp [32]byte
	p.clock.encode(tmp[:], (ver|1)+1)
	copy(area[4:], tmp[4:])
	mem.StoreUint32(area, 0, (ver|1)+1)
}

// writeWallclock fills shared_info's wallclock (wc_version 0xc00, wc_sec,
// wc_nsec, wc_sec_hi): the wall time at system time 0.
func (p *pv) writeWallclock(si []byte) {
	le := binary.LittleEndian
	ver := le.Uint32(si[0xc00:])
	le.PutUint32(si[0xc00:], ver|1)
	w := p.clock.wallStart
	sec := uint64(w.Unix())
	le.PutUint32(si[0xc04:], uint32(sec))
	le.PutUint32(si[0xc08:], uint32(w.Nanosecond()))
	le.PutUint32(si[0xc0c:], uint32(sec>>32))
	mem.StoreUint32(si, 0xc00, (ver|1)+1)
}

// setUpcallVector answers HVMOP_set_evtchn_upcall_vector ({vcpu u32, vector u8}).
func (p *pv) setUpcallVector(v xen.VCPU, c xen.Call) int64 {
	var b [8]byte
	if err := v.CopyIn(c.Args[1], b[:]); err != nil {
		return xen.EFAULT.Ret()
	}
	vcpu, vec := binary.LittleEndian.Uint32(b[0:]), b[4]
	if vec < 0x10 {
		return xen.EINVAL.Ret()
	}
	if int(vcpu) >= len(p.v.vcpus) {
		return xen.ENOENT.Ret()
	}
	if err := p.up.setVCPU(int(vcpu), vec); err != nil {
		return xen.EINVAL.Ret()
	}
	return 0
}

// doorbellExit performs an EVTCHNOP_send that reached user space through
// the doorbell port (no in-kernel doorbell for that port): RSI still points
// at the guest's evtchn_send.
func (c *vcpu) doorbellExit() {
	p := c.vm.pv
	ret := p.evt.Hypercall(c, 4 /* EVTCHNOP_send */, c.kv.SyncReg(kvm.RegRSI))
	c.kv.SetSyncRAX(uint64(ret))
}

// EventChannels returns the VM's event-channel table (for attaching backends).
func (v *VM) EventChannels() *evtchn.Table { return v.pv.evt }

// Grants returns the VM's grant table.
func (v *VM) Grants() *gnttab.Table { return v.pv.grants }

// Store returns the xenstore the VM is introduced to.
func (v *VM) Store() *xenstore.Store { return v.pv.store }

// DomID returns the VM's Xen domain id.
func (v *VM) DomID() uint16 { return v.cfg.DomID }

// Doorbell makes the guest's EVTCHNOP_send on port signal fd inside KVM,
// without an exit to user space (for backends bound to that port).
func (v *VM) Doorbell(port evtchn.Port, fd int) error { return v.pv.doorbell(port, fd) }

// SystemTime returns the VM's Xen system time in nanoseconds.
func (v *VM) SystemTime() uint64 { return v.pv.clock.systemTime() }

// writeDomainTree writes the nodes a toolstack gives every domain
// (docs/misc/xenstore-paths.pandoc; ../shared/reference/xen-abi.md §11.3):
// domid and name read-only to the guest; control/, data/, attr/ and
// drivers/ writable by it; device/ for its frontends; memory/target in KiB.
func (p *pv) writeDomainTree() error {
	d := xenstore.DomID(p.v.cfg.DomID)
	home := xenstore.DomainPath(d)
	c := p.store.Dom0()
	ro := []xenstore.Perm{{Domid: 0, Access: xenstore.AccessNone}, {Domid: d, Access: xenstore.AccessRead}}
	rw := []xenstore.Perm{{Domid: d, Access: xenstore.AccessNone}}
	return c.Transaction(func(tx *xenstore.Tx) error {
		for _, n := range []struct {
			path, value string
			perms       []xenstore.Perm
		}{
			{"/domid", fmt.Sprint(p.v.cfg.DomID), ro},
			{"/name", p.v.cfg.Name, ro},
			{"/memory/target", fmt.Sprint(p.v.cfg.MemBytes >> 10), ro},
			{"/device", "", ro},
			{"/control", "", rw},
			{"/control/shutdown", "", rw},
			{"/control/platform-feature-xs_reset_watches", "1", ro},
			{"/data", "", rw},
			{"/attr", "", rw},
			{"/drivers", "", rw},
		} {
			if err := tx.Write(home+n.path, []byte(n.value)); err != nil {
				return err
			}
			if err := tx.SetPerms(home+n.path, n.perms); err != nil {
				return err
			}
		}
		return nil
	})
}
