package evtchn

import (
	"errors"

	"github.com/xenolith/xenolith/hv/xen"
)

// Sentinel errors of the monitor-side API. ErrnoOf gives the errno Xen
// would return to a guest for each.
var (
	// ErrInvalidConfig reports a Config that NewTable does not accept.
	ErrInvalidConfig = errors.New("evtchn: invalid table config")
	// ErrInvalidPort reports a port that is not valid in the table, or not
	// in the state the operation needs (-EINVAL).
	ErrInvalidPort = errors.New("evtchn: invalid port")
	// ErrNotUnbound reports a port given to BindBackend that is not unbound
	// for the backend domain (-EINVAL, as evtchn_bind_interdomain).
	ErrNotUnbound = errors.New("evtchn: port not unbound for the backend")
	// ErrNoFreePort reports that every port up to the table's limit is in
	// use (-ENOSPC, as get_free_port).
	ErrNoFreePort = errors.New("evtchn: no free port")
	// ErrDying reports an operation on a destroyed table (-EINVAL, as
	// get_free_port for a dying domain).
	ErrDying = errors.New("evtchn: domain is dying")
	// ErrNoSuchVCPU reports a vCPU id outside the domain (-ENOENT, as
	// domain_vcpu).
	ErrNoSuchVCPU = errors.New("evtchn: no such vcpu")
	// ErrBadAddress reports a shared_info or vcpu_info address outside guest
	// RAM (-EINVAL, as check_get_page_from_gfn for a gfn without RAM).
	ErrBadAddress = errors.New("evtchn: address outside guest ram")
	// ErrBadPlacement reports a vcpu_info that crosses a page or is not
	// 8-byte aligned, or a shared_info that is not page aligned (-ENXIO, as
	// map_guest_area).
	ErrBadPlacement = errors.New("evtchn: misplaced guest area")
	// ErrVCPUInfoRegistered reports a second VCPUOP_register_vcpu_info for a
	// vCPU (-EBUSY, as common_vcpu_op: no re-registration).
	ErrVCPUInfoRegistered = errors.New("evtchn: vcpu_info already registered")
	// ErrDomainExists reports Hub.Register of a domain id already present.
	ErrDomainExists = errors.New("evtchn: domain id already registered")
	// ErrRegistered reports Hub.Register of a table already in a hub.
	ErrRegistered = errors.New("evtchn: table already registered")
	// ErrNoSuchDomain reports Hub.Unregister of an unknown domain id.
	ErrNoSuchDomain = errors.New("evtchn: no such domain")
	// ErrClosed reports use of a closed Endpoint.
	ErrClosed = errors.New("evtchn: endpoint closed")
	// ErrDisconnected reports that an Endpoint's guest port was closed (by
	// the guest, EVTCHNOP_reset or domain destruction).
	ErrDisconnected = errors.New("evtchn: endpoint disconnected")
)

// ErrnoOf returns the Xen errno a guest gets for err, for the hypercall
// handlers (in hv/xen) that call the monitor-side API on a guest's behalf,
// such as VCPUOP_register_vcpu_info calling SetVCPUInfo. An xen.Errno (or
// one wrapped) is returned as is; unknown errors give EINVAL; nil gives 0.
func ErrnoOf(err error) xen.Errno {
	var e xen.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e) && e > 0:
		return e
	case errors.Is(err, ErrNoFreePort):
		return xen.ENOSPC
	case errors.Is(err, ErrNoSuchVCPU):
		return xen.ENOENT
	case errors.Is(err, ErrBadPlacement):
		return xen.ENXIO
	case errors.Is(err, ErrVCPUInfoRegistered):
		return xen.EBUSY
	case errors.Is(err, ErrNoSuchDomain):
		return xen.ESRCH
	}
	return xen.EINVAL
}
