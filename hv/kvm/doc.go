// Package kvm owns the /dev/kvm file descriptors of the monitor: the system
// (/dev/kvm), each VM and each vCPU. It is the only package in Xenolith that
// issues KVM ioctls; every ioctl is one method on the owner of its fd.
//
// The ioctl numbers and struct sizes in consts.go are pinned against
// <linux/kvm.h> by abi_test.go. The vCPU run loop lives in hv/vm; this
// package only decodes the shared kvm_run page into a typed Exit and never
// retries KVM_RUN on EINTR, so a kick (immediate_exit plus a signal) always
// returns control to the caller.
package kvm
