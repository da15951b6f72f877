// Package pvdrivers holds Xenolith's paravirtual device backends: the
// xenbus device model (pvdrivers/xenbus) and, built on it, the block and
// network backends. Backends run in the monitor as domain 0. They see guest
// memory, grants and event channels only through small interfaces and
// never import hv/vm or hv/kvm, so their protocol logic runs in unit tests
// without /dev/kvm.
package pvdrivers
