package vm

import (
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/xenolith/xenolith/hv/kvm"
)

// upcallGSIBase is the first GSI used for per-vCPU upcall MSI routes (above
// the IOAPIC's 24 pins).
const upcallGSIBase = 32

// upcalls injects the event-channel callback vector into vCPUs without
// stopping their threads: each vCPU has an eventfd bound by irqfd to a GSI
// whose MSI route targets that vCPU's LAPIC with the vector
// (HVM_PARAM_CALLBACK_IRQ type 2, or the per-vCPU vector set with
// HVMOP_set_evtchn_upcall_vector). A vCPU blocked in SCHEDOP_block or
// SCHEDOP_poll is woken as well.
type upcalls struct {
	v *VM

	mu      sync.Mutex // protects vectors, routed
	global  uint8      // CALLBACK_IRQ vector (0 = none)
	vectors []uint8    // per-vCPU vector (0 = use global)
	fds     []int      // per-vCPU eventfds, -1 until routed
	routed  bool
}

func newUpcalls(v *VM) *upcalls {
	u := &upcalls{v: v, vectors: make([]uint8, len(v.vcpus)), fds: make([]int, len(v.vcpus))}
	for i := range u.fds {
		u.fds[i] = -1
	}
	return u
}

// setGlobal sets the CALLBACK_IRQ vector (0 disables).
func (u *upcalls) setGlobal(vector uint8) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.global = vector
	return u.reroute()
}

// setVCPU sets a per-vCPU upcall vector.
func (u *upcalls) setVCPU(vcpu int, vector uint8) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.vectors[vcpu] = vector
	return u.reroute()
}

// reroute programs the MSI routes and binds irqfds on first use. Called with mu held.
func (u *upcalls) reroute() error {
	var routes []kvm.MSIRoute
	for i := range u.fds {
		vec := u.vectors[i]
		if vec == 0 {
			vec = u.global
		}
		if vec == 0 {
			continue
		}
		// Fixed delivery, edge, physical destination = APIC ID (= vCPU id).
		routes = append(routes, kvm.MSIRoute{GSI: uint32(upcallGSIBase + i), Address: 0xfee00000 | uint64(i)<<12, Data: uint32(vec)})
	}
	if err := u.v.kvm.SetMSIRouting(routes); err != nil {
		return err
	}
	for _, r := range routes {
		i := int(r.GSI) - upcallGSIBase
		if u.fds[i] >= 0 {
			continue
		}
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			return fmt.Errorf("vm: eventfd for upcalls: %w", err)
		}
		if err := u.v.kvm.IRQFD(fd, r.GSI, 0); err != nil {
			unix.Close(fd)
			return err
		}
		u.fds[i] = fd
	}
	return nil
}

// Upcall implements evtchn.Upcaller: deliver the callback to vcpu.
func (u *upcalls) Upcall(vcpu int) {
	if vcpu < 0 || vcpu >= len(u.fds) {
		return
	}
	u.mu.Lock()
	fd := u.fds[vcpu]
	u.mu.Unlock()
	if fd >= 0 {
		var one [8]byte
		binary.LittleEndian.PutUint64(one[:], 1)
		unix.Write(fd, one[:])
	}
	u.v.vcpus[vcpu].wakeUp()
}

func (u *upcalls) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, fd := range u.fds {
		if fd >= 0 {
			unix.Close(fd)
			u.fds[i] = -1
		}
	}
}
