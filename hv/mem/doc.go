// Package mem owns a guest's RAM: one host mapping that backs guest-physical
// addresses [0, Size()), bounds-checked accessors over it, atomic accessors
// for words shared with the guest, and a software walk of the guest's page
// tables that turns guest-virtual addresses (as Xen hypercalls pass them)
// into guest-physical ones.
//
// Every address a guest supplies is hostile. Accessors never index the
// mapping before checking bounds (with overflow-safe arithmetic), atomic
// accessors also check natural alignment, and every failure is an error,
// never a host fault. Errors caused by a bad guest address match ErrFault
// under errors.Is, so hypercall handlers can turn them into -EFAULT.
//
// The package issues no KVM ioctls: hv/kvm registers Bytes() as a memory
// slot. Only atomic_unsafe.go imports package unsafe.
//
// Values read or written by the atomic accessors use the host's byte order;
// the monitor runs on x86-64, which is little-endian like its guests.
package mem
