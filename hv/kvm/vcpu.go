package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// VCPU owns one vCPU fd and its kvm_run mapping. Run and the sync-register
// accessors belong to the vCPU's own thread; Kick may be called from any
// goroutine.
type VCPU struct {
	fd  int
	id  int
	run []byte       // kvm_run mapping
	tid atomic.Int32 // OS thread running KVM_RUN, 0 when none
}

// ID returns the vCPU id given at creation.
func (c *VCPU) ID() int { return c.id }

// Close unmaps kvm_run and closes the fd.
func (c *VCPU) Close() error {
	if c.fd < 0 {
		return nil
	}
	err := unix.Munmap(c.run)
	if e := unix.Close(c.fd); err == nil {
		err = e
	}
	c.fd = -1
	c.run = nil
	return err
}

// BindThread records the calling OS thread as the one that runs this vCPU,
// so that Kick can signal it. The caller must have locked its goroutine to
// the thread (runtime.LockOSThread).
func (c *VCPU) BindThread() { c.tid.Store(int32(unix.Gettid())) }

// UnbindThread forgets the vCPU thread.
func (c *VCPU) UnbindThread() { c.tid.Store(0) }

// Run enters the guest once (KVM_RUN) and decodes the exit. A KVM_RUN that
// fails with EINTR (a kick, a signal, or immediate_exit) is not retried: it
// returns an Exit with Reason ExitInterrupted and a nil error.
func (c *VCPU) Run() (Exit, error) {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(c.fd), ioctlRun, 0)
	if e != 0 {
		if e == unix.EINTR || e == unix.EAGAIN {
			return Exit{Reason: ExitInterrupted}, nil
		}
		return Exit{}, fmt.Errorf("kvm: KVM_RUN vCPU %d: %w", c.id, e)
	}
	return decodeExit(c.run), nil
}

// Kick makes a running (or about to run) KVM_RUN return promptly: it sets
// immediate_exit, then signals the vCPU thread. The vCPU thread must call
// ClearImmediateExit once it has seen the interruption.
func (c *VCPU) Kick() {
	if c.run == nil {
		return
	}
	storeByte(c.run, runOffImmediateExit, 1)
	if tid := c.tid.Load(); tid != 0 {
		// SIGURG: the Go runtime already handles it (async preemption)
		// without side effects on a thread blocked in a system call.
		_ = unix.Tgkill(unix.Getpid(), int(tid), unix.SIGURG)
	}
}

// ClearImmediateExit re-arms KVM_RUN after a kick.
func (c *VCPU) ClearImmediateExit() { storeByte(c.run, runOffImmediateExit, 0) }

// ReadyForInterrupt reports kvm_run.ready_for_interrupt_injection and if_flag.
func (c *VCPU) ReadyForInterrupt() (ready, ifFlag bool) {
	return c.run[runOffReadyForIRQ] != 0, c.run[runOffIFFlag] != 0
}

// SetSyncMask selects which register sets KVM copies into kvm_run on every
// exit (SyncRegs, SyncSregs, SyncEvents).
func (c *VCPU) SetSyncMask(mask uint64) {
	binary.LittleEndian.PutUint64(c.run[runOffValidRegs:], mask)
}

// SyncRegs decodes the general registers KVM stored at the last exit.
// SetSyncMask must include SyncRegs.
func (c *VCPU) SyncRegs(r *Regs) { r.decode(c.run[runOffSyncRegs:]) }

// SyncSregs decodes the special registers KVM stored at the last exit.
// SetSyncMask must include SyncSregs.
func (c *VCPU) SyncSregs(s *Sregs) { s.decode(c.run[runOffSyncSregs:]) }

// SyncReg returns one general register from the sync area by its index in
// struct kvm_regs (RAX 0, RBX 1, RCX 2, RDX 3, RSI 4, RDI 5, RSP 6, RBP 7,
// R8..R15 8..15, RIP 16, RFLAGS 17), without decoding the rest.
func (c *VCPU) SyncReg(i int) uint64 {
	return binary.LittleEndian.Uint64(c.run[runOffSyncRegs+8*i:])
}

// Register indices for SyncReg.
const (
	RegRAX, RegRBX, RegRCX, RegRDX, RegRSI, RegRDI, RegRSP, RegRBP = 0, 1, 2, 3, 4, 5, 6, 7
	RegR8, RegR9, RegR10, RegR11                                   = 8, 9, 10, 11
	RegRIP, RegRFLAGS                                              = 16, 17
)

// SetSyncRAX writes RAX into the sync area and marks the general registers
// dirty, so the next KVM_RUN loads them: the other registers keep the values
// KVM stored at the exit.
func (c *VCPU) SetSyncRAX(v uint64) {
	binary.LittleEndian.PutUint64(c.run[runOffSyncRegs:], v)
	d := binary.LittleEndian.Uint64(c.run[runOffDirtyRegs:])
	binary.LittleEndian.PutUint64(c.run[runOffDirtyRegs:], d|SyncRegs)
}

// PutSyncRegs writes all general registers into the sync area and marks them dirty.
func (c *VCPU) PutSyncRegs(r *Regs) {
	r.encode(c.run[runOffSyncRegs:])
	d := binary.LittleEndian.Uint64(c.run[runOffDirtyRegs:])
	binary.LittleEndian.PutUint64(c.run[runOffDirtyRegs:], d|SyncRegs)
}

// IOData returns the data bytes of an IO exit (inside the kvm_run page).
func (c *VCPU) IOData(io IOExit) ([]byte, error) {
	n := uint64(io.Size) * uint64(io.Count)
	if io.DataOffset > uint64(len(c.run)) || n > uint64(len(c.run))-io.DataOffset {
		return nil, errors.New("kvm: IO exit data outside kvm_run")
	}
	return c.run[io.DataOffset : io.DataOffset+n], nil
}

// CompleteMSR sets the result of a user-space MSR exit: error true makes KVM
// inject #GP; for RDMSR, data is the value read.
func (c *VCPU) CompleteMSR(data uint64, fail bool) {
	u := c.run[runOffExit:]
	if fail {
		u[0] = 1
	} else {
		u[0] = 0
	}
	binary.LittleEndian.PutUint64(u[16:], data)
}

// CompleteMMIORead sets the data returned by an MMIO read exit.
func (c *VCPU) CompleteMMIORead(data []byte) {
	copy(c.run[runOffExit+8:runOffExit+16], data)
}

// GetRegs calls KVM_GET_REGS.
func (c *VCPU) GetRegs() (Regs, error) {
	b := make([]byte, sizeofRegs)
	var r Regs
	if _, err := ioctlPtr(c.fd, ioctlGetRegs, b); err != nil {
		return r, fmt.Errorf("kvm: KVM_GET_REGS: %w", err)
	}
	r.decode(b)
	return r, nil
}

// SetRegs calls KVM_SET_REGS.
func (c *VCPU) SetRegs(r Regs) error {
	b := make([]byte, sizeofRegs)
	r.encode(b)
	if _, err := ioctlPtr(c.fd, ioctlSetRegs, b); err != nil {
		return fmt.Errorf("kvm: KVM_SET_REGS: %w", err)
	}
	return nil
}

// GetSregs calls KVM_GET_SREGS.
func (c *VCPU) GetSregs() (Sregs, error) {
	b := make([]byte, sizeofSregs)
	var s Sregs
	if _, err := ioctlPtr(c.fd, ioctlGetSregs, b); err != nil {
		return s, fmt.Errorf("kvm: KVM_GET_SREGS: %w", err)
	}
	s.decode(b)
	return s, nil
}

// SetSregs calls KVM_SET_SREGS.
func (c *VCPU) SetSregs(s Sregs) error {
	b := make([]byte, sizeofSregs)
	s.encode(b)
	if _, err := ioctlPtr(c.fd, ioctlSetSregs, b); err != nil {
		return fmt.Errorf("kvm: KVM_SET_SREGS: %w", err)
	}
	return nil
}

// SetCPUID calls KVM_SET_CPUID2.
func (c *VCPU) SetCPUID(entries []CPUIDEntry) error {
	if _, err := ioctlPtr(c.fd, ioctlSetCPUID2, encodeCPUID(entries)); err != nil {
		return fmt.Errorf("kvm: KVM_SET_CPUID2: %w", err)
	}
	return nil
}

// MPState returns KVM_GET_MP_STATE.
func (c *VCPU) MPState() (uint32, error) {
	b := make([]byte, sizeofMPState)
	if _, err := ioctlPtr(c.fd, ioctlGetMPState, b); err != nil {
		return 0, fmt.Errorf("kvm: KVM_GET_MP_STATE: %w", err)
	}
	return binary.LittleEndian.Uint32(b), nil
}

// SetMPState calls KVM_SET_MP_STATE.
func (c *VCPU) SetMPState(state uint32) error {
	b := make([]byte, sizeofMPState)
	binary.LittleEndian.PutUint32(b, state)
	if _, err := ioctlPtr(c.fd, ioctlSetMPState, b); err != nil {
		return fmt.Errorf("kvm: KVM_SET_MP_STATE: %w", err)
	}
	return nil
}

// MSR is one struct kvm_msr_entry.
type MSR struct {
	Index uint32
	Data  uint64
}

// SetMSRs calls KVM_SET_MSRS and returns how many were set.
func (c *VCPU) SetMSRs(msrs []MSR) (int, error) {
	b := make([]byte, sizeofMSRsHeader+len(msrs)*sizeofMSREntry)
	binary.LittleEndian.PutUint32(b[0:], uint32(len(msrs)))
	for i, m := range msrs {
		e := b[sizeofMSRsHeader+i*sizeofMSREntry:]
		binary.LittleEndian.PutUint32(e[0:], m.Index)
		binary.LittleEndian.PutUint64(e[8:], m.Data)
	}
	n, err := ioctlPtr(c.fd, ioctlSetMSRs, b)
	if err != nil {
		return 0, fmt.Errorf("kvm: KVM_SET_MSRS: %w", err)
	}
	return int(n), nil
}

// TSCKHz returns the vCPU's TSC frequency (KVM_GET_TSC_KHZ).
func (c *VCPU) TSCKHz() (uint64, error) {
	n, err := ioctlVal(c.fd, ioctlGetTSCKHz, 0)
	if err != nil {
		return 0, fmt.Errorf("kvm: KVM_GET_TSC_KHZ: %w", err)
	}
	return uint64(n), nil
}

// StatsFD returns the vCPU's binary statistics (KVM_GET_STATS_FD).
func (c *VCPU) StatsFD() (*Stats, error) {
	fd, err := ioctlVal(c.fd, ioctlGetStatsFD, 0)
	if err != nil {
		return nil, fmt.Errorf("kvm: KVM_GET_STATS_FD (vcpu %d): %w", c.id, err)
	}
	return newStats(int(fd))
}

// SyncPaging returns CR0, CR3, CR4 and EFER from the sync area without
// decoding the other special registers. SetSyncMask must include SyncSregs.
func (c *VCPU) SyncPaging() (cr0, cr3, cr4, efer uint64) {
	le := binary.LittleEndian
	o := runOffSyncSregs + 8*sizeofSegment + 2*sizeofDTable
	return le.Uint64(c.run[o:]), le.Uint64(c.run[o+16:]), le.Uint64(c.run[o+24:]), le.Uint64(c.run[o+40:])
}

// GetMSRs reads the given MSRs (KVM_GET_MSRS); Data is filled in place.
func (c *VCPU) GetMSRs(msrs []MSR) error {
	b := make([]byte, sizeofMSRsHeader+len(msrs)*sizeofMSREntry)
	binary.LittleEndian.PutUint32(b[0:], uint32(len(msrs)))
	for i, m := range msrs {
		binary.LittleEndian.PutUint32(b[sizeofMSRsHeader+i*sizeofMSREntry:], m.Index)
	}
	n, err := ioctlPtr(c.fd, ioctlGetMSRs, b)
	if err != nil {
		return fmt.Errorf("kvm: KVM_GET_MSRS: %w", err)
	}
	if int(n) != len(msrs) {
		return fmt.Errorf("kvm: KVM_GET_MSRS read %d of %d MSRs", n, len(msrs))
	}
	for i := range msrs {
		msrs[i].Data = binary.LittleEndian.Uint64(b[sizeofMSRsHeader+i*sizeofMSREntry+8:])
	}
	return nil
}

// MSRTSC is IA32_TIME_STAMP_COUNTER.
const MSRTSC = 0x10
