// Package xen implements the Xen hypercall layer of Xenolith: decoding of
// hypercalls made through the hypercall page, the handlers that answer them
// with Xen's semantics and errno values, the CPUID leaves and the hypercall
// page by which a guest discovers Xen, and the HVM parameters.
//
// Everything here is pure Go over byte slices: guest memory is reached only
// through the VCPU interface (CopyIn/CopyOut of guest-virtual ranges) and the
// monitor's state only through the Domain interface, so the package runs in
// unit tests without /dev/kvm. hv/vm implements both interfaces and calls
// Dispatcher.Hypercall on the vCPU thread.
//
// Every handler mirrors the corresponding Xen function (named in its doc
// comment) for an unprivileged PVH domU: the same checks in the same order,
// the same errno values, the same argument truncation to the C prototypes of
// xen/include/hypercall-defs.c. Guest-supplied lengths are never trusted:
// all copies are bounded by the wire struct sizes or done in page-sized
// chunks.
package xen
