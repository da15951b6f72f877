package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// System owns the /dev/kvm file descriptor.
type System struct {
	fd       int
	mmapSize int

	// closeMu lets Close wait for CreateVM calls in flight (a background
	// goroutine may be creating a VM when the owner closes the System).
	closeMu sync.RWMutex

	cpuidOnce sync.Once // caches KVM_GET_SUPPORTED_CPUID, which costs ~0.4 ms
	cpuid     []CPUIDEntry
	cpuidErr  error
}

// Open opens /dev/kvm and checks the API version.
func Open() (*System, error) {
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("%w: %v", ErrNoKVM, err)
		}
		return nil, fmt.Errorf("kvm: open /dev/kvm: %w", err)
	}
	s := &System{fd: fd}
	v, err := ioctlVal(fd, ioctlGetAPIVersion, 0)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("kvm: KVM_GET_API_VERSION: %w", err)
	}
	if v != 12 {
		s.Close()
		return nil, fmt.Errorf("kvm: unsupported KVM API version %d (want 12)", v)
	}
	n, err := ioctlVal(fd, ioctlGetVCPUMmapSize, 0)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("kvm: KVM_GET_VCPU_MMAP_SIZE: %w", err)
	}
	s.mmapSize = int(n)
	return s, nil
}

// Available reports whether /dev/kvm can be opened read-write, and why not.
func Available() (bool, string) {
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return false, "/dev/kvm does not exist"
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false, "cannot open /dev/kvm: " + err.Error()
	}
	f.Close()
	return true, ""
}

// Close closes /dev/kvm. VMs created from it stay valid.
func (s *System) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// CheckExtension returns KVM_CHECK_EXTENSION for c (0 means absent).
func (s *System) CheckExtension(c Cap) int {
	r, err := ioctlVal(s.fd, ioctlCheckExtension, uintptr(c))
	if err != nil {
		return 0
	}
	return int(r)
}

// Require returns a *MissingCapError for the first capability in reqs the
// host lacks.
func (s *System) Require(reqs []Requirement) error {
	for _, r := range reqs {
		if s.CheckExtension(r.Cap) <= 0 {
			return &MissingCapError{Cap: r.Cap, Why: r.Why}
		}
	}
	return nil
}

// Requirement is a capability and the reason Xenolith needs it.
type Requirement struct {
	Cap Cap
	Why string
}

// MonitorRequirements are the capabilities the monitor cannot run without.
var MonitorRequirements = []Requirement{
	{CapUserMemory, "guest RAM"},
	{CapIRQChip, "the in-kernel interrupt controller"},
	{CapIOEventFD, "in-kernel event-channel doorbells"},
	{CapIRQFD, "upcall injection without stopping vCPU threads"},
	{CapImmediateExit, "kicking a running vCPU"},
	{CapSyncRegs, "reading hypercall registers without extra ioctls"},
	{CapX86UserSpaceMSR, "the Xen hypercall-page MSR"},
	{CapSignalMSI, "MSI injection"},
	{CapExtCPUID, "Xen CPUID leaves"},
}

// VCPUMmapSize is the size of each vCPU's kvm_run mapping.
func (s *System) VCPUMmapSize() int { return s.mmapSize }

// CPUIDEntry is one struct kvm_cpuid_entry2.
type CPUIDEntry struct {
	Function, Index, Flags uint32
	EAX, EBX, ECX, EDX     uint32
}

// CPUID entry flags.
const (
	CPUIDFlagSignificantIndex = 1 << 0
)

// SupportedCPUID returns KVM_GET_SUPPORTED_CPUID (queried once per System;
// the caller must not modify the returned slice).
func (s *System) SupportedCPUID() ([]CPUIDEntry, error) {
	s.cpuidOnce.Do(func() { s.cpuid, s.cpuidErr = s.supportedCPUID() })
	return s.cpuid, s.cpuidErr
}

func (s *System) supportedCPUID() ([]CPUIDEntry, error) {
	for n := 128; n <= 4096; n *= 2 {
		buf := make([]byte, sizeofCPUID2Header+n*sizeofCPUIDEntry2)
		binary.LittleEndian.PutUint32(buf[0:], uint32(n))
		_, err := ioctlPtr(s.fd, ioctlGetSupportedCPUID, buf)
		if errors.Is(err, unix.E2BIG) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kvm: KVM_GET_SUPPORTED_CPUID: %w", err)
		}
		return decodeCPUID(buf), nil
	}
	return nil, errors.New("kvm: KVM_GET_SUPPORTED_CPUID: too many entries")
}

func decodeCPUID(buf []byte) []CPUIDEntry {
	n := int(binary.LittleEndian.Uint32(buf[0:]))
	out := make([]CPUIDEntry, 0, n)
	for i := 0; i < n; i++ {
		e := buf[sizeofCPUID2Header+i*sizeofCPUIDEntry2:]
		out = append(out, CPUIDEntry{
			Function: binary.LittleEndian.Uint32(e[0:]),
			Index:    binary.LittleEndian.Uint32(e[4:]),
			Flags:    binary.LittleEndian.Uint32(e[8:]),
			EAX:      binary.LittleEndian.Uint32(e[12:]),
			EBX:      binary.LittleEndian.Uint32(e[16:]),
			ECX:      binary.LittleEndian.Uint32(e[20:]),
			EDX:      binary.LittleEndian.Uint32(e[24:]),
		})
	}
	return out
}

func encodeCPUID(entries []CPUIDEntry) []byte {
	buf := make([]byte, sizeofCPUID2Header+len(entries)*sizeofCPUIDEntry2)
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(entries)))
	for i, c := range entries {
		e := buf[sizeofCPUID2Header+i*sizeofCPUIDEntry2:]
		binary.LittleEndian.PutUint32(e[0:], c.Function)
		binary.LittleEndian.PutUint32(e[4:], c.Index)
		binary.LittleEndian.PutUint32(e[8:], c.Flags)
		binary.LittleEndian.PutUint32(e[12:], c.EAX)
		binary.LittleEndian.PutUint32(e[16:], c.EBX)
		binary.LittleEndian.PutUint32(e[20:], c.ECX)
		binary.LittleEndian.PutUint32(e[24:], c.EDX)
	}
	return buf
}

// createVMTries bounds CreateVM's retries after EINTR.
const createVMTries = 100

// CreateVM creates a VM (KVM_CREATE_VM, default type). KVM_CREATE_VM
// registers an MMU notifier on the process, which locks every mapping of the
// process and gives up with EINTR when a signal is pending (Go's runtime
// signals its threads for preemption); nothing is created then, so the call
// is retried.
func (s *System) CreateVM() (*VM, error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.fd < 0 {
		return nil, fmt.Errorf("kvm: KVM_CREATE_VM: %w", ErrClosed)
	}
	var (
		fd  uintptr
		err error
	)
	for i := 0; i < createVMTries; i++ {
		if fd, err = ioctlVal(s.fd, ioctlCreateVM, 0); !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("kvm: KVM_CREATE_VM: %w", err)
	}
	unix.CloseOnExec(int(fd))
	return &VM{fd: int(fd), sys: s}, nil
}
