package kvm

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// VM owns one KVM VM file descriptor.
type VM struct {
	fd  int
	sys *System
}

// Close closes the VM fd. The kernel frees the VM once every vCPU fd and
// mapping is gone too.
func (v *VM) Close() error {
	if v.fd < 0 {
		return nil
	}
	err := unix.Close(v.fd)
	v.fd = -1
	return err
}

// CheckExtension returns KVM_CHECK_EXTENSION on the VM fd.
func (v *VM) CheckExtension(c Cap) int {
	r, err := ioctlVal(v.fd, ioctlCheckExtension, uintptr(c))
	if err != nil {
		return 0
	}
	return int(r)
}

// MemoryRegion is a struct kvm_userspace_memory_region.
type MemoryRegion struct {
	Slot          uint32
	Flags         uint32
	GuestPhysAddr uint64
	// Memory is the host mapping backing the region; it must stay mapped
	// while the region exists.
	Memory []byte
}

// SetUserMemoryRegion registers (or, with empty Memory, deletes) a slot.
func (v *VM) SetUserMemoryRegion(r MemoryRegion) error {
	b := make([]byte, sizeofUserspaceMemRegion)
	binary.LittleEndian.PutUint32(b[0:], r.Slot)
	binary.LittleEndian.PutUint32(b[4:], r.Flags)
	binary.LittleEndian.PutUint64(b[8:], r.GuestPhysAddr)
	binary.LittleEndian.PutUint64(b[16:], uint64(len(r.Memory)))
	binary.LittleEndian.PutUint64(b[24:], sliceAddr(r.Memory))
	if _, err := ioctlPtr(v.fd, ioctlSetUserMemoryRegion, b); err != nil {
		return fmt.Errorf("kvm: KVM_SET_USER_MEMORY_REGION slot %d: %w", r.Slot, err)
	}
	return nil
}

// SetTSSAddr sets the 3-page region KVM reserves for real-mode emulation.
func (v *VM) SetTSSAddr(addr uint64) error {
	if _, err := ioctlVal(v.fd, ioctlSetTSSAddr, uintptr(addr)); err != nil {
		return fmt.Errorf("kvm: KVM_SET_TSS_ADDR: %w", err)
	}
	return nil
}

// SetIdentityMapAddr sets the page KVM uses for its identity map.
func (v *VM) SetIdentityMapAddr(addr uint64) error {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, addr)
	if _, err := ioctlPtr(v.fd, ioctlSetIdentityMapAddr, b); err != nil {
		return fmt.Errorf("kvm: KVM_SET_IDENTITY_MAP_ADDR: %w", err)
	}
	return nil
}

// CreateIRQChip creates the in-kernel PIC, IOAPIC and LAPICs. Create memory
// slots first: the first slot change after it stalls for milliseconds.
func (v *VM) CreateIRQChip() error {
	if _, err := ioctlVal(v.fd, ioctlCreateIRQChip, 0); err != nil {
		return fmt.Errorf("kvm: KVM_CREATE_IRQCHIP: %w", err)
	}
	return nil
}

// EnableCap calls KVM_ENABLE_CAP on the VM.
func (v *VM) EnableCap(c Cap, args ...uint64) error {
	b := make([]byte, sizeofEnableCap)
	binary.LittleEndian.PutUint32(b[0:], uint32(c))
	for i, a := range args {
		if i >= 4 {
			break
		}
		binary.LittleEndian.PutUint64(b[8+8*i:], a)
	}
	if _, err := ioctlPtr(v.fd, ioctlEnableCap, b); err != nil {
		return fmt.Errorf("kvm: KVM_ENABLE_CAP %s: %w", c, err)
	}
	return nil
}

// IOEventFD is a struct kvm_ioeventfd.
type IOEventFD struct {
	Datamatch uint64
	Addr      uint64
	Len       uint32
	FD        int
	Flags     uint32
}

// IOEventFD registers (or with IOEventFDDeassign removes) an ioeventfd.
func (v *VM) IOEventFD(e IOEventFD) error {
	b := make([]byte, sizeofIOEventFD)
	binary.LittleEndian.PutUint64(b[0:], e.Datamatch)
	binary.LittleEndian.PutUint64(b[8:], e.Addr)
	binary.LittleEndian.PutUint32(b[16:], e.Len)
	binary.LittleEndian.PutUint32(b[20:], uint32(int32(e.FD)))
	binary.LittleEndian.PutUint32(b[24:], e.Flags)
	if _, err := ioctlPtr(v.fd, ioctlIOEventFD, b); err != nil {
		return fmt.Errorf("kvm: KVM_IOEVENTFD addr %#x: %w", e.Addr, err)
	}
	return nil
}

// IRQFD binds an eventfd to a GSI (KVM_IRQFD). flags 1 deassigns.
func (v *VM) IRQFD(fd int, gsi uint32, flags uint32) error {
	b := make([]byte, sizeofIRQFD)
	binary.LittleEndian.PutUint32(b[0:], uint32(int32(fd)))
	binary.LittleEndian.PutUint32(b[4:], gsi)
	binary.LittleEndian.PutUint32(b[8:], flags)
	if _, err := ioctlPtr(v.fd, ioctlIRQFD, b); err != nil {
		return fmt.Errorf("kvm: KVM_IRQFD gsi %d: %w", gsi, err)
	}
	return nil
}

// MSIRoute routes a GSI to an MSI message.
type MSIRoute struct {
	GSI     uint32
	Address uint64
	Data    uint32
}

// SetMSIRouting replaces the VM's GSI routing table with MSI routes.
func (v *VM) SetMSIRouting(routes []MSIRoute) error {
	b := make([]byte, sizeofIRQRoutingHeader+len(routes)*sizeofIRQRoutingEntry)
	binary.LittleEndian.PutUint32(b[0:], uint32(len(routes)))
	for i, r := range routes {
		e := b[sizeofIRQRoutingHeader+i*sizeofIRQRoutingEntry:]
		binary.LittleEndian.PutUint32(e[0:], r.GSI)
		binary.LittleEndian.PutUint32(e[4:], IRQRoutingMSI)
		binary.LittleEndian.PutUint32(e[16:], uint32(r.Address))
		binary.LittleEndian.PutUint32(e[20:], uint32(r.Address>>32))
		binary.LittleEndian.PutUint32(e[24:], r.Data)
	}
	if _, err := ioctlPtr(v.fd, ioctlSetGSIRouting, b); err != nil {
		return fmt.Errorf("kvm: KVM_SET_GSI_ROUTING: %w", err)
	}
	return nil
}

// SignalMSI injects one MSI (KVM_SIGNAL_MSI).
func (v *VM) SignalMSI(address uint64, data uint32) error {
	b := make([]byte, sizeofMSI)
	binary.LittleEndian.PutUint32(b[0:], uint32(address))
	binary.LittleEndian.PutUint32(b[4:], uint32(address>>32))
	binary.LittleEndian.PutUint32(b[8:], data)
	if _, err := ioctlPtr(v.fd, ioctlSignalMSI, b); err != nil {
		return fmt.Errorf("kvm: KVM_SIGNAL_MSI: %w", err)
	}
	return nil
}

// IRQLine sets the level of an in-kernel irqchip input (KVM_IRQ_LINE).
func (v *VM) IRQLine(irq uint32, level uint32) error {
	b := make([]byte, sizeofIRQLevel)
	binary.LittleEndian.PutUint32(b[0:], irq)
	binary.LittleEndian.PutUint32(b[4:], level)
	if _, err := ioctlPtr(v.fd, ioctlIRQLine, b); err != nil {
		return fmt.Errorf("kvm: KVM_IRQ_LINE: %w", err)
	}
	return nil
}

// ClockNs returns KVM_GET_CLOCK's kvmclock value in nanoseconds.
func (v *VM) ClockNs() (uint64, error) {
	b := make([]byte, sizeofClockData)
	if _, err := ioctlPtr(v.fd, ioctlGetClock, b); err != nil {
		return 0, fmt.Errorf("kvm: KVM_GET_CLOCK: %w", err)
	}
	return binary.LittleEndian.Uint64(b[0:]), nil
}

// StatsFD returns the VM's binary statistics fd (KVM_GET_STATS_FD).
func (v *VM) StatsFD() (*Stats, error) {
	fd, err := ioctlVal(v.fd, ioctlGetStatsFD, 0)
	if err != nil {
		return nil, fmt.Errorf("kvm: KVM_GET_STATS_FD (vm): %w", err)
	}
	return newStats(int(fd))
}

// CreateVCPU creates vCPU id and maps its kvm_run page.
func (v *VM) CreateVCPU(id int) (*VCPU, error) {
	fd, err := ioctlVal(v.fd, ioctlCreateVCPU, uintptr(id))
	if err != nil {
		return nil, fmt.Errorf("kvm: KVM_CREATE_VCPU %d: %w", id, err)
	}
	unix.CloseOnExec(int(fd))
	run, err := unix.Mmap(int(fd), 0, v.sys.mmapSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(int(fd))
		return nil, fmt.Errorf("kvm: mmap kvm_run of vCPU %d: %w", id, err)
	}
	return &VCPU{fd: int(fd), id: id, run: run}, nil
}
