// Package vm runs Xenolith virtual machines: it creates the KVM VM, guest
// RAM and vCPUs, loads a PVH kernel, runs one locked OS thread per vCPU and
// answers the guest's exits (hypercalls through the port-I/O hypercall page,
// the hypercall-page MSR, the debug console and the guestkit test port).
//
// One process may host many VMs; a VM that misbehaves is destroyed alone and
// its Run returns a Result naming the reason.
package vm
