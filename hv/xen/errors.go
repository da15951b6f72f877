package xen

import (
	"errors"
	"fmt"
)

// Sentinel errors. Domain implementations return the vCPU ones from
// InitialiseVCPU, UpVCPU and DownVCPU (possibly wrapped with %w); the
// dispatcher turns them into the errno Xen would return (see errnoOf).
var (
	// ErrVCPUExists reports VCPUOP_initialise of a vCPU that is already
	// initialised (-EEXIST, as arch_initialise_vcpu).
	ErrVCPUExists = errors.New("xen: vcpu already initialised")
	// ErrVCPUNotInitialised reports VCPUOP_up of a vCPU that was never
	// initialised (-EINVAL, as common_vcpu_op).
	ErrVCPUNotInitialised = errors.New("xen: vcpu not initialised")
	// ErrNoSuchVCPU reports a vCPU id outside the domain (-ENOENT, as
	// domain_vcpu in do_vcpu_op).
	ErrNoSuchVCPU = errors.New("xen: no such vcpu")
	// ErrInvalidContext reports a vcpu_hvm_context that
	// arch_set_info_hvm_guest would reject (-EINVAL). It is wrapped with the
	// reason.
	ErrInvalidContext = errors.New("xen: invalid vcpu context")
	// ErrInvalidParam reports an HVM parameter index >= HVMNrParams given to
	// Dispatcher.SetParam.
	ErrInvalidParam = errors.New("xen: invalid hvm param index")
	// ErrShortPage reports a buffer smaller than one page given to
	// WriteHypercallPage.
	ErrShortPage = errors.New("xen: hypercall page buffer shorter than 4096 bytes")
)

// errnoOf maps an error returned by a Domain method to the errno for the
// guest: an Errno (or one wrapped) is used as is, the vCPU sentinels map as
// documented on them, and any other error becomes EINVAL.
func errnoOf(err error) Errno {
	var e Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e) && e > 0:
		return e
	case errors.Is(err, ErrVCPUExists):
		return EEXIST
	case errors.Is(err, ErrNoSuchVCPU):
		return ENOENT
	default: // ErrVCPUNotInitialised, ErrInvalidContext, anything else
		return EINVAL
	}
}

// contextError wraps ErrInvalidContext with the reason
// arch_set_info_hvm_guest would log.
func contextError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidContext}, args...)...)
}
