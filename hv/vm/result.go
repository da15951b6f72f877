package vm

import "fmt"

// Reason says why a VM stopped.
type Reason int

// Reasons a VM stops. The first six are Xen's SHUTDOWN_* values.
const (
	ReasonPoweroff  Reason = 0
	ReasonReboot    Reason = 1
	ReasonSuspend   Reason = 2
	ReasonCrash     Reason = 3
	ReasonWatchdog  Reason = 4
	ReasonSoftReset Reason = 5
	ReasonDestroyed Reason = 100 // the monitor destroyed the VM (guest fault)
	ReasonStopped   Reason = 101 // the host asked it to stop (Ctrl-C, context)
	ReasonHostError Reason = 102 // a host-side failure (KVM error)
)

var reasonNames = map[Reason]string{
	ReasonPoweroff: "poweroff", ReasonReboot: "reboot", ReasonSuspend: "suspend",
	ReasonCrash: "crash", ReasonWatchdog: "watchdog", ReasonSoftReset: "soft_reset",
	ReasonDestroyed: "destroyed", ReasonStopped: "stopped", ReasonHostError: "host error",
}

// String returns the reason's name.
func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("shutdown with unknown reason %d", int(r))
}

// Result is how a VM ended.
type Result struct {
	Reason Reason
	// Code is the value the guest latched with SCHEDOP_shutdown_code, if
	// any. As in Xen, a latched code replaces the reason of the later
	// SCHEDOP_shutdown, so Reason already reflects it.
	Code    uint32
	HasCode bool
	// Detail explains ReasonDestroyed and ReasonHostError (e.g. "triple fault
	// on vCPU 0 at rip 0x100234").
	Detail string
}

// ExitStatus maps a Result to the exit status of `xenolith run`
// (docs/guest-abi.md).
func (r Result) ExitStatus() int {
	switch {
	case r.Reason == ReasonPoweroff:
		return 0
	case r.Reason >= ReasonReboot && r.Reason <= ReasonSoftReset:
		return 64 + int(r.Reason)
	case r.Reason == ReasonDestroyed:
		return 70
	case r.Reason > ReasonSoftReset && r.Reason < ReasonDestroyed:
		return 71 // a reason byte Xen does not define
	case r.Reason == ReasonStopped:
		return 130
	default:
		return 1
	}
}

// String describes the result in one line.
func (r Result) String() string {
	s := "guest " + r.Reason.String()
	switch r.Reason {
	case ReasonDestroyed, ReasonHostError:
		s = "VM " + r.Reason.String()
	case ReasonStopped:
		s = "VM stopped by the host"
	}
	if r.HasCode {
		s += fmt.Sprintf(" (shutdown code %d)", r.Code)
	}
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s
}
