package xen

import "fmt"

// HVM parameter indices (xen/include/public/hvm/params.h).
const (
	HVMParamCallbackIRQ                  = 0
	HVMParamStorePFN                     = 1
	HVMParamStoreEvtchn                  = 2
	HVMParamPAEEnabled                   = 4 // deprecated
	HVMParamIOReqPFN                     = 5
	HVMParamBufIOReqPFN                  = 6
	HVMParamViridian                     = 9
	HVMParamTimerMode                    = 10
	HVMParamHPETEnabled                  = 11
	HVMParamIdentPT                      = 12
	HVMParamDMDomain                     = 13 // deprecated
	HVMParamACPISState                   = 14
	HVMParamVM86TSS                      = 15
	HVMParamVPTAlign                     = 16
	HVMParamConsolePFN                   = 17
	HVMParamConsoleEvtchn                = 18
	HVMParamACPIIOPortsLocation          = 19
	HVMParamMemoryEventCR0               = 20 // deprecated
	HVMParamMemoryEventCR3               = 21 // deprecated
	HVMParamMemoryEventCR4               = 22 // deprecated
	HVMParamMemoryEventINT3              = 23 // deprecated
	HVMParamNestedHVM                    = 24 // deprecated
	HVMParamMemoryEventSingleStep        = 25 // deprecated
	HVMParamBufIOReqEvtchn               = 26 // deprecated
	HVMParamPagingRingPFN                = 27
	HVMParamMonitorRingPFN               = 28
	HVMParamSharingRingPFN               = 29
	HVMParamMemoryEventMSR               = 30 // deprecated
	HVMParamTripleFaultReason            = 31
	HVMParamIOReqServerPFN               = 32
	HVMParamNrIOReqServerPages           = 33
	HVMParamVMGenerationIDAddr           = 34
	HVMParamAltP2M                       = 35
	HVMParamX87FIPWidth                  = 36
	HVMParamVM86TSSSized                 = 37
	HVMParamMCACap                       = 38
	HVMNrParams                          = 39 // number of parameters
	HVMParamCallbackTypeShift            = 56 // the CALLBACK_IRQ type is in bits 63:56
	vm86TSSUpdated                uint64 = 1 << 63
	tss32Size                            = 104 // sizeof(struct tss32)
)

// HVM_PARAM_CALLBACK_IRQ delivery types (bits 63:56 of the value).
const (
	HVMParamCallbackTypeGSI     = 0
	HVMParamCallbackTypePCIINTx = 1
	HVMParamCallbackTypeVector  = 2
)

// SetParam sets HVM parameter idx with the monitor's (toolstack's)
// privilege: no guest permission checks apply. The monitor publishes
// STORE_PFN, STORE_EVTCHN, CONSOLE_PFN and CONSOLE_EVTCHN this way.
func (x *Dispatcher) SetParam(idx uint32, val uint64) error {
	if idx >= HVMNrParams {
		return fmt.Errorf("set param %d: %w", idx, ErrInvalidParam)
	}
	x.params[idx].Store(val)
	return nil
}

// Param returns HVM parameter idx as stored (0 if never set, or for an index
// >= HVMNrParams).
func (x *Dispatcher) Param(idx uint32) uint64 {
	if idx >= HVMNrParams {
		return 0
	}
	return x.params[idx].Load()
}

// deprecatedParam reports the parameters hvm_allow_{set,get}_param reject
// with -EINVAL.
func deprecatedParam(idx uint32) bool {
	switch idx {
	case HVMParamPAEEnabled, HVMParamDMDomain,
		HVMParamMemoryEventCR0, HVMParamMemoryEventCR3, HVMParamMemoryEventCR4,
		HVMParamMemoryEventINT3, HVMParamNestedHVM, HVMParamMemoryEventSingleStep,
		HVMParamBufIOReqEvtchn, HVMParamMemoryEventMSR:
		return true
	}
	return false
}

// guestSetParam mirrors hvm_set_param (xen/arch/x86/hvm/hvm.c) with d ==
// current->domain: hvm_allow_set_param's permission checks, then the
// per-parameter checks for the parameters a guest may set.
func (x *Dispatcher) guestSetParam(v VCPU, idx uint32, val uint64) Errno {
	switch idx {
	case HVMParamCallbackIRQ, HVMParamVM86TSS, HVMParamVM86TSSSized,
		HVMParamACPIIOPortsLocation, HVMParamVMGenerationIDAddr,
		HVMParamStoreEvtchn, HVMParamConsoleEvtchn, HVMParamX87FIPWidth:
		// Settable by the guest.
	case HVMParamAltP2M:
		return EEXIST // read-only
	default:
		if deprecatedParam(idx) {
			return EINVAL
		}
		return EPERM
	}

	switch idx {
	case HVMParamACPIIOPortsLocation:
		// pmtimer_change_ioport: a PVH domain has no ACPI PM timer.
		return ENODEV
	case HVMParamX87FIPWidth:
		if val != 0 && val != 4 && val != 8 {
			return EINVAL
		}
	case HVMParamVM86TSS:
		if val != uint64(uint32(val)) {
			// Hardware would truncate: Xen crashes the domain.
			x.shutdown(ShutdownCrash)
			return EINVAL
		}
		// Old hvmloaders hard-code a 128-byte TSS; stored as the sized form.
		if val != 0 {
			val |= 128<<32 | vm86TSSUpdated
		}
		idx = HVMParamVM86TSSSized
	case HVMParamVM86TSSSized:
		if val>>32 < tss32Size {
			x.shutdown(ShutdownCrash)
			return EINVAL
		}
		// Cap at the TSS plus the interrupt redirection and I/O bitmaps
		// plus one padding byte.
		const maxTSS = tss32Size + 0x100/8 + 0x10000/8 + 1
		if val>>32 > maxTSS {
			val = uint64(uint32(val)) | maxTSS<<32
		}
		val |= vm86TSSUpdated
	}
	x.params[idx].Store(val)
	if o, ok := x.dom.(ParamObserver); ok {
		o.ParamSet(v, idx, val)
	}
	return 0
}

// guestGetParam mirrors hvm_get_param with d == current->domain:
// hvm_allow_get_param's permission checks, then the value.
func (x *Dispatcher) guestGetParam(idx uint32) (uint64, Errno) {
	switch idx {
	case HVMParamCallbackIRQ, HVMParamVM86TSS, HVMParamVM86TSSSized,
		HVMParamACPIIOPortsLocation, HVMParamVMGenerationIDAddr,
		HVMParamStorePFN, HVMParamStoreEvtchn, HVMParamConsolePFN,
		HVMParamConsoleEvtchn, HVMParamAltP2M, HVMParamX87FIPWidth:
		// Readable by the guest.
	default:
		if deprecatedParam(idx) {
			return 0, EINVAL
		}
		return 0, EPERM
	}
	switch idx {
	case HVMParamVM86TSS:
		return uint64(uint32(x.params[HVMParamVM86TSSSized].Load())), 0
	case HVMParamVM86TSSSized:
		return x.params[HVMParamVM86TSSSized].Load() &^ vm86TSSUpdated, 0
	}
	return x.params[idx].Load(), 0
}
